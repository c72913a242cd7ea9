"""Wall displays: a TV opens the read-only board with a secret token instead of a login.

Only the token's SHA-256 is stored, so the token is shown once, when an admin creates it. A
display sees the board of its campus (all campuses when it has none) as a pseudo-user with the
service desk's visibility; it has no session and no way to write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from tables.accounts.tables import Campus
from tables.tickets.tables import BoardDisplay

TOKEN_PREFIX = "bd_"
SEEN_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden(N_("Only administrators manage wall displays."))


async def list_displays() -> list[dict]:
    return await BoardDisplay.select(
        BoardDisplay.id,
        BoardDisplay.name,
        BoardDisplay.campus,
        BoardDisplay.campus.name.as_alias("campus_name"),
        BoardDisplay.created_at,
        BoardDisplay.last_seen_at,
        BoardDisplay.revoked_at,
        BoardDisplay.created_by.display_name.as_alias("creator_name"),
    ).order_by(BoardDisplay.id, ascending=False)


async def create_display(actor: CurrentUser, name: str, campus_id: str | int | None) -> tuple[dict, str]:
    """Returns the display and its token; the token cannot be recovered later."""
    _require_admin(actor)
    name = (name or "").strip()
    errors = []
    if not name:
        errors.append(FieldError("name", N_("Enter a name, e.g. the room where the screen hangs.")))
    elif len(name) > 60:
        errors.append(FieldError("name", N_("At most 60 characters.")))
    campus = None
    if campus_id not in (None, ""):
        campus = parse_int(campus_id)
        if campus is None or not await Campus.exists().where(Campus.id == campus):
            errors.append(FieldError("campus", N_("Choose one of the listed options.")))
    if errors:
        raise ValidationFailed(errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    async with UnitOfWork():
        rows = await BoardDisplay.insert(
            BoardDisplay(name=name, token_hash=hash_token(token), campus=campus, created_by=actor.id)
        ).returning(BoardDisplay.id)
        display_id = rows[0]["id"]
        await audit.record(
            actor_id=actor.id,
            action="create",
            entity_type="board_display",
            entity_id=display_id,
            changes=audit.snapshot({"name": name, "campus": campus}, ("name", "campus")),
        )
    return {"id": display_id, "name": name, "campus": campus}, token


async def revoke_display(actor: CurrentUser, display_id: int, clock: Clock = system_clock) -> None:
    _require_admin(actor)
    row = await BoardDisplay.select(BoardDisplay.revoked_at).where(BoardDisplay.id == display_id).first()
    if row is None:
        raise NotFound(N_("This display does not exist."))
    if row["revoked_at"] is not None:
        return
    now = clock.now()
    async with UnitOfWork():
        await BoardDisplay.update({BoardDisplay.revoked_at: now}).where(BoardDisplay.id == display_id)
        await audit.record(
            actor_id=actor.id,
            action="revoke",
            entity_type="board_display",
            entity_id=display_id,
            changes={"revoked_at": [None, now.isoformat()]},
        )


async def verify_token(token: str) -> dict | None:
    """The active display this token opens, or None (unknown or revoked)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return (
        await BoardDisplay.select(
            BoardDisplay.id,
            BoardDisplay.name,
            BoardDisplay.campus,
            BoardDisplay.campus.name.as_alias("campus_name"),
            BoardDisplay.last_seen_at,
        )
        .where((BoardDisplay.token_hash == hash_token(token)) & BoardDisplay.revoked_at.is_null())
        .first()
    )


async def is_active(display_id: int) -> bool:
    return await BoardDisplay.exists().where((BoardDisplay.id == display_id) & BoardDisplay.revoked_at.is_null())


def viewer_for(display: dict) -> CurrentUser:
    """The pseudo-user a display reads as: desk visibility, restricted to the display's campus.

    Its id is 0, which no user has, so no event addressed to people ever reaches it.
    """
    return CurrentUser(
        id=0,
        username=f"display-{display['id']}",
        display_name=display["name"],
        role="customer_service",
        team_id=None,
        campus_id=display["campus"],
    )


async def display_viewer(token: str) -> tuple[CurrentUser, int] | None:
    display = await verify_token(token)
    if display is None:
        return None
    await mark_seen(display["id"])
    return viewer_for(display), display["id"]


async def mark_seen(display_id: int, clock: Clock = system_clock) -> None:
    """Write last_seen_at at most once a minute per display (the admin page shows it)."""
    now = clock.now()
    await BoardDisplay.update({BoardDisplay.last_seen_at: now}).where(
        (BoardDisplay.id == display_id)
        & (BoardDisplay.last_seen_at.is_null() | (BoardDisplay.last_seen_at < now - SEEN_EVERY))
    )
