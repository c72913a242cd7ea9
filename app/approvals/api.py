"""REST: GET/POST /api/v1/tickets/{id}/approval (a contract with outside clients: add, never rename).

POST takes {"decision": "approve" | "reject" | "send_back" | "resubmit", "reason": str, "version": int};
a stale `version` (or a decision someone else already made) answers 409, a missing reason 422 naming
`reason`, a caller who is not the current approver 403. Errors: {detail, errors: [{field, message}]}.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from app.approvals import queries, services
from app.core.api import ERRORS, DbInt, to
from app.core.deps import AuthUser
from app.core.errors import NotFound
from app.core.permissions import CurrentUser


class DecisionIn(msgspec.Struct):
    """`decision`: approve, reject, send_back or resubmit (the service names a wrong one, 422); `reason` is
    needed to reject or send back; `version`: the one you read."""

    decision: str = ""
    reason: str | None = None
    version: DbInt | None = None


class Approver(msgspec.Struct):
    id: int
    name: str


class CurrentStep(msgspec.Struct):
    position: int
    name: str
    approvers: list[Approver]
    entered_at: str | None
    due_at: str | None
    overdue: bool


class Step(msgspec.Struct):
    position: int
    name: str
    approver: str
    sla_minutes: int
    state: str  # done | current | waiting


class Decision(msgspec.Struct):
    position: int
    step: str
    actor: int | None
    actor_name: str | None
    decision: str
    reason: str
    created_at: str | None


class ApprovalOut(msgspec.Struct):
    ticket: int
    status: str
    version: int
    position: int
    workflow_version: int
    started_at: str | None
    finished_at: str | None
    current_step: CurrentStep | None  # null unless running
    steps: list[Step]
    decisions: list[Decision]
    can_decide: bool
    can_resubmit: bool


async def _view(user: CurrentUser, ticket_id: int) -> ApprovalOut:
    view = await queries.approval_view(user, ticket_id)
    if view is None:
        raise NotFound("This ticket has no approval.")
    return to(ApprovalOut, queries.serialise(view))


class ApprovalApi(Controller):
    path = "/api/v1/tickets/{ticket_id:int}/approval"
    tags = ["approvals"]

    @get("/", responses=ERRORS)
    async def show(self, user: AuthUser, ticket_id: FromPath[int]) -> ApprovalOut:
        """The ticket's approval: steps (done/current/waiting), who decided what and when, the current
        step's approvers and due time, and whether the caller may decide."""
        return await _view(user, ticket_id)

    @post("/", status_code=200, responses=ERRORS)
    async def decide(
        self, request: Request, user: AuthUser, ticket_id: FromPath[int], data: JSONBody[DecisionIn]
    ) -> ApprovalOut:
        """Decide the current step. Send the `version` you read: two approvers at once never both advance."""
        await services.decide(user, ticket_id, data.decision, data.reason or "", data.version)
        return await _view(user, ticket_id)
