"""Saved views: a user's named ticket-list filters, kept as the list's query string."""

from __future__ import annotations

from app.core.errors import NotFound, ValidationFailed
from app.core.permissions import CurrentUser
from tables.tickets.tables import SavedView

MAX_VIEWS = 20


async def list_views(user: CurrentUser) -> list[dict]:
    return (
        await SavedView.select(SavedView.id, SavedView.name, SavedView.query)
        .where(SavedView.user == user.id)
        .order_by(SavedView.name)
    )


async def save_view(user: CurrentUser, name: str, query: str) -> dict:
    """Store the filters under a name; saving an existing name again replaces its filters."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.one("view_name", "Enter a name for this view.")
    if len(name) > 60:
        raise ValidationFailed.one("view_name", "At most 60 characters.")
    mine = SavedView.user == user.id
    existing = await SavedView.select(SavedView.id).where(mine & (SavedView.name == name)).first()
    if existing:
        await SavedView.update({SavedView.query: query}).where(SavedView.id == existing["id"])
        return {"id": existing["id"], "name": name, "query": query}
    if await SavedView.count().where(mine) >= MAX_VIEWS:
        raise ValidationFailed.one("view_name", "You can keep at most 20 views; delete one first.")
    rows = await SavedView.insert(SavedView(user=user.id, name=name, query=query)).returning(SavedView.id)
    return {"id": rows[0]["id"], "name": name, "query": query}


async def delete_view(user: CurrentUser, view_id: int) -> None:
    deleted = (
        await SavedView.delete().where((SavedView.id == view_id) & (SavedView.user == user.id)).returning(SavedView.id)
    )
    if not deleted:
        raise NotFound("This saved view does not exist.")
