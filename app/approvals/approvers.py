"""Who decides a step: an approver spec names a rule, resolved against the ticket when the step starts.

Specs: `role:<role>` (that role at the ticket's campus), `class_teacher` (the class teacher of the
ticket's student), `campus_supervisor` (a supervisor of the ticket's campus), `finance` (finance of
the ticket's campus) and `user:<id>` (one person). Campus-bound rules fall back to staff without a
campus (the head office) when the campus has nobody in that role; a step that resolves to nobody
goes to the administrators, so an approval never waits on an empty step.
"""

from __future__ import annotations

from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import ROLES
from tables.accounts.tables import User

KINDS: dict[str, str] = {
    "class_teacher": N_("The student's class teacher"),
    "campus_supervisor": N_("A supervisor of the ticket's campus"),
    "finance": N_("Finance of the ticket's campus"),
    "role": N_("Everyone with a role"),
    "user": N_("A specific person"),
}


def split(spec: str) -> tuple[str, str]:
    kind, _sep, value = (spec or "").partition(":")
    return kind, value


def is_valid_shape(spec: str) -> bool:
    kind, value = split(spec)
    if kind in ("class_teacher", "campus_supervisor", "finance"):
        return value == ""
    if kind == "role":
        return value in ROLES
    if kind == "user":
        return parse_int(value) is not None
    return False


async def _campus_people(role: str, campus_id: int | None) -> list[int]:
    active = User.is_active.eq(True) & (User.role == role)
    if campus_id is not None:
        here = await User.select(User.id).where(active & (User.campus == campus_id)).order_by(User.id)
        if here:
            return [r["id"] for r in here]
    head_office = await User.select(User.id).where(active & User.campus.is_null()).order_by(User.id)
    if head_office or campus_id is not None:
        return [r["id"] for r in head_office]
    return [r["id"] for r in await User.select(User.id).where(active).order_by(User.id)]


async def resolve(spec: str, ticket: dict) -> list[int]:
    """User ids who may decide this step for `ticket` (needs campus and class_teacher keys)."""
    kind, value = split(spec)
    found: list[int] = []
    if kind == "class_teacher" and ticket.get("class_teacher"):
        found = [
            r["id"]
            for r in await User.select(User.id).where((User.id == ticket["class_teacher"]) & User.is_active.eq(True))
        ]
    elif kind == "campus_supervisor":
        found = await _campus_people("supervisor", ticket.get("campus"))
    elif kind == "finance":
        found = await _campus_people("finance", ticket.get("campus"))
    elif kind == "role" and value in ROLES:
        found = await _campus_people(value, ticket.get("campus"))
    elif kind == "user" and (user_id := parse_int(value)) is not None:
        found = [r["id"] for r in await User.select(User.id).where((User.id == user_id) & User.is_active.eq(True))]
    if not found:
        found = [
            r["id"]
            for r in await User.select(User.id)
            .where((User.role == "admin") & User.is_active.eq(True))
            .order_by(User.id)
        ]
    return found


def label(spec: str, user_names: dict[int, str] | None = None) -> tuple[str, str]:
    """(msgid, detail) for showing a spec: the kind's label and the role or person it names."""
    kind, value = split(spec)
    if kind == "role":
        return KINDS["role"], ROLES.get(value, value)
    if kind == "user":
        user_id = parse_int(value)
        return KINDS["user"], (user_names or {}).get(user_id, f"#{value}") if user_id is not None else value
    return KINDS.get(kind, spec), ""
