"""Roles and record-level visibility.

A record with an owner is visible to the owner, to the leader of the owner's team, to the
leaders of every team above it, and to admins. Each domain's policy module builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.i18n import N_
from tables.accounts.tables import Team, User

ROLES: dict[str, str] = {
    "admin": N_("Administrator"),
    "supervisor": N_("Supervisor"),
    "advisor": N_("Advisor"),
    "class_teacher": N_("Class teacher"),
    "teacher": N_("Teacher"),
    "academic_affairs": N_("Academic affairs"),
    "finance": N_("Finance"),
    "customer_service": N_("Customer service"),
}


# Rights that do not follow from record visibility alone. A record's own people (a lead's owner,
# a student's advisor and class teacher) get the matching right for that record in its policy,
# except where a right says otherwise (students.delete).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Full phone numbers of leads and students without a click (others see 138****8000 and may
    # reveal one, audited: app/leads/phones.py).
    "leads.view_phone": ("admin", "supervisor"),
    # Delete for good from the recycle bin before the 30 days are up.
    "recycle.purge": ("admin",),
    # Move a student to the recycle bin and back: a student carries enrolments, lesson hours and
    # payments, so the people who keep those records decide (an advisor or the desk does not).
    "students.delete": ("admin", "supervisor", "academic_affairs"),
}


def has_permission(user: CurrentUser, name: str) -> bool:
    return user.role in PERMISSIONS.get(name, ())


@dataclass
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    campus_id: int | None
    locale: str = ""
    _subordinates: set[int] | None = field(default=None, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def initials(self) -> str:
        return (self.display_name or self.username)[-2:]


def descendant_team_ids(teams: list[dict], roots: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for team in teams:
        if team["parent"] is not None:
            children.setdefault(team["parent"], []).append(team["id"])
    found, stack = set(), list(roots)
    while stack:
        team_id = stack.pop()
        if team_id in found:
            continue  # a cycle in bad data must not loop forever
        found.add(team_id)
        stack.extend(children.get(team_id, []))
    return found


async def visible_owner_ids(user: CurrentUser) -> set[int] | None:
    """Owner ids whose records `user` may see; None means everything (admin)."""
    if user.is_admin:
        return None
    if user._subordinates is None:
        teams = await Team.select(Team.id, Team.parent, Team.leader)
        led = {t["id"] for t in teams if t["leader"] == user.id}
        ids = {user.id}
        if led:
            scope = descendant_team_ids(teams, led)
            rows = await User.select(User.id).where(User.team.is_in(list(scope)))
            ids |= {r["id"] for r in rows}
        user._subordinates = ids
    return user._subordinates


async def can_see_owner(user: CurrentUser, owner_id: int | None) -> bool:
    visible = await visible_owner_ids(user)
    return visible is None or owner_id in visible


async def led_team_ids(user: CurrentUser) -> frozenset[int]:
    """The teams `user` leads and every team below them: whose members' records the user sees."""
    if user.id is None:
        return frozenset()
    teams = await Team.select(Team.id, Team.parent, Team.leader)
    led = {t["id"] for t in teams if t["leader"] == user.id}
    return frozenset(descendant_team_ids(teams, led)) if led else frozenset()
