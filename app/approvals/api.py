"""REST: GET/POST /api/v1/tickets/{id}/approval (a contract with outside clients: add, never rename).

POST takes {"decision": "approve" | "reject" | "send_back" | "resubmit", "reason": str, "version": int};
a stale `version` (or a decision someone else already made) answers 409, a missing reason 422 naming
`reason`, a caller who is not the current approver 403. Errors: {detail, errors: [{field, message}]}.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from app.approvals import queries, services
from app.core.deps import AuthUser
from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import CurrentUser


async def _view(user: CurrentUser, ticket_id: int) -> dict:
    view = await queries.approval_view(user, ticket_id)
    if view is None:
        raise NotFound("This ticket has no approval.")
    return queries.serialise(view)


def _version(data: dict) -> int | None:
    version = data.get("version")
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationFailed.one("version", "Send the version you read as a number.")
    return version


class ApprovalApi(Controller):
    path = "/api/v1/tickets/{ticket_id:int}/approval"
    tags = ["approvals"]

    @get("/")
    async def show(self, user: AuthUser, ticket_id: FromPath[int]) -> dict:
        """The ticket's approval: steps (done/current/waiting), who decided what and when, the current
        step's approvers and due time, and whether the caller may decide."""
        return await _view(user, ticket_id)

    @post("/", status_code=200)
    async def decide(self, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[dict]) -> dict:
        """Decide the current step. Send the `version` you read: two approvers at once never both advance."""
        reason = data.get("reason") or ""
        if not isinstance(reason, str):
            raise ValidationFailed.one("reason", "Send the reason as text.")
        await services.decide(user, ticket_id, str(data.get("decision") or ""), reason, _version(data))
        return await _view(user, ticket_id)
