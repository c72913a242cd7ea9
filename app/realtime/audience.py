"""Who receives an event: an `Audience` (app/core/events.py) matched against one connection.

`resolve` turns the parts that need the database (`owners`, `records`) into parts a connection
checks by itself, once per event in each web process; `admits` then decides per connection from
what the connection already knows (user id, role, campus, team, the teams the user leads), so
no query runs per event per connection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.core.events import Audience, record_audience_of
from app.core.permissions import CurrentUser
from tables.accounts.tables import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """What a connection knows about its user, enough to match an audience."""

    user: CurrentUser
    led_teams: frozenset[int] = frozenset()


async def owners_audience(owner_ids: list[int] | tuple[int, ...]) -> Audience:
    """The people who see records owned by these users: them, the leaders above them, admins."""
    owners = [o for o in owner_ids if o is not None]
    if not owners:
        return Audience()
    rows = await User.select(User.id, User.team).where(User.id.is_in(list(owners)))
    return Audience(users=tuple(owners), leaders=tuple(r["team"] for r in rows), roles=("admin",))


async def resolve(audience: Audience) -> Audience:
    """The same audience with `owners` and `records` replaced by the people they stand for.

    A record kind nobody registered, or a resolver that fails, adds nobody: a push missed is
    caught up on the next (re)connect, a push sent to the wrong person is not.
    """
    if audience.is_concrete:
        return audience
    found = Audience(
        everyone=audience.everyone,
        users=audience.users,
        teams=audience.teams,
        leaders=audience.leaders,
        campuses=audience.campuses,
        roles=audience.roles,
    )
    if audience.owners:
        found |= await owners_audience(audience.owners)
    by_kind: dict[str, list[int]] = {}
    for kind, record_id in audience.records:
        by_kind.setdefault(kind, []).append(record_id)
    for kind, ids in by_kind.items():
        resolver = record_audience_of(kind)
        if resolver is None:
            log.warning("no audience registered for records of kind %r", kind)
            continue
        try:
            part = await resolver(ids)
        except Exception:  # noqa: BLE001 - one record kind failing must not drop the explicit part
            log.warning("audience of %s %s failed", kind, ids, exc_info=True)
            continue
        if part.owners:
            part = Audience(
                everyone=part.everyone,
                users=part.users,
                teams=part.teams,
                leaders=part.leaders,
                campuses=part.campuses,
                roles=part.roles,
            ) | await owners_audience(part.owners)
        found |= part
    return found


def _role_matches(grant: str, user: CurrentUser) -> bool:
    role, _, campus = grant.partition("@")
    if role != user.role:
        return False
    return not campus or user.is_admin or user.campus_id is None or campus == str(user.campus_id)


def admits(audience: Audience | None, viewer: Viewer) -> bool:
    """Whether the viewer is in a resolved audience (None: an event queued before audiences)."""
    if audience is None or audience.everyone:
        return True
    user = viewer.user
    if user.id in audience.users:
        return True
    if audience.teams and user.team_id in audience.teams:
        return True
    if viewer.led_teams and (
        viewer.led_teams.intersection(audience.teams) or viewer.led_teams.intersection(audience.leaders)
    ):
        return True
    if audience.campuses and user.campus_id in audience.campuses:
        return True
    return any(_role_matches(grant, user) for grant in audience.roles)
