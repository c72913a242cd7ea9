"""Helpers for the assignment tests: staff with skills and shifts, online at a frozen instant."""

from __future__ import annotations

from datetime import UTC, datetime

from app.assignment import presence
from app.core.clock import FrozenClock
from tables.assignment.tables import AssignmentSetting, StaffShift, StaffSkill
from tables.tickets.tables import TicketType
from tests.support import make_user

# A Wednesday, 10:00 in Shanghai.
WEDNESDAY_10AM = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def frozen() -> FrozenClock:
    return FrozenClock(WEDNESDAY_10AM)


async def agent(
    clock: FrozenClock,
    *skills: tuple[str, str],
    role: str = "customer_service",
    online: bool = True,
    shifts: list[tuple[int, int, int]] | None = None,
    **kwargs,
):
    """A person with skills (default: the repair type), all-week shifts unless given, online unless not."""
    user = await make_user(role, **kwargs)
    await StaffSkill.insert(*[StaffSkill(user=user.id, kind=k, value=v) for k, v in (skills or [("type", "repair")])])
    week = [(d, 0, 1440) for d in range(7)] if shifts is None else shifts
    if week:
        await StaffShift.insert(
            *[StaffShift(user=user.id, weekday=d, start_minute=s, end_minute=e) for d, s, e in week]
        )
    if online:
        await presence.mark_online(user.id, f"tab-{user.id}", clock)
    return user


async def set_mode(code: str, mode: str = "auto", kinds: list[str] | None = None, team: int | None = None) -> None:
    type_id = (await TicketType.select(TicketType.id).where(TicketType.code == code).first())["id"]
    await AssignmentSetting.delete().where(AssignmentSetting.ticket_type == type_id)
    await AssignmentSetting.insert(
        AssignmentSetting(ticket_type=type_id, mode=mode, skill_kinds=kinds or ["type"], team=team)
    )
