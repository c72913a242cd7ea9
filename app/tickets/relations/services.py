"""Ticket relations: link two tickets, merge several into one, split a reply off into a child.

Each is one unit of work that records an activity on every ticket it touches (so both timelines
tell the story) and emits `ticket.updated` for each after commit. Only people who may work a
ticket (policy.can_work) may relate it; a ticket the user cannot see answers "not found".
"""

from __future__ import annotations

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.events import Event
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.tickets import policy
from app.tickets.audience import of_ticket
from app.tickets.services import Draft, create_ticket, get_ticket
from app.tickets.types.fields import active_fields
from tables.tickets.tables import Ticket, TicketActivity, TicketAttachment, TicketLink, TicketTag, TicketWatcher

LINK_KINDS: dict[str, str] = {"related": N_("Related"), "duplicate": N_("Duplicate")}


async def workable(actor: CurrentUser, ticket_id: int) -> dict:
    ticket = await get_ticket(actor, ticket_id)
    if not policy.can_work(actor, ticket):
        raise Forbidden("Only the service desk or the assignee can change this ticket.")
    return ticket


async def visible_ref(actor: CurrentUser, ref: str | int, field: str = "target") -> dict:
    """The ticket a user typed the number of; one they cannot see reads as no such number."""
    try:
        return await get_ticket(actor, await resolve_ref(ref, field))
    except NotFound:
        raise ValidationFailed.one(field, "No ticket has this number.") from None


async def resolve_ref(ref: str | int, field: str = "target") -> int:
    """A ticket number (T-2026-000123) or id (123, #123) as an id; unknown refs name the field."""
    text = str(ref).strip().lstrip("#")
    ticket_id = parse_int(text)
    if ticket_id is not None:
        row = await Ticket.select(Ticket.id).where(Ticket.id == ticket_id).first()
    else:
        row = await Ticket.select(Ticket.id).where(Ticket.number == text.upper()).first() if text else None
    if row is None:
        raise ValidationFailed.one(field, "No ticket has this number.")
    return row["id"]


def updated_event(ticket: dict, fields: list[str], *, status: str | None = None) -> Event:
    """The same payload shape as app.tickets.services emits, so board and workbench pushes understand it."""
    new_status = status or ticket["status"]
    return Event(
        "ticket.updated",
        {
            "id": ticket["id"],
            "status": new_status,
            "old_status": ticket["status"] if new_status != ticket["status"] else None,
            "assignee": ticket["assignee"],
            "campus": ticket["campus"],
            "priority": ticket["priority"],
            "type": ticket["type_code"],
            "version": ticket["version"] + 1,
            "old_assignee": ticket["assignee"],
            "fields": fields,
        },
        audience=of_ticket(ticket["id"]),
    )


async def bump(ticket: dict, now, extra: dict | None = None) -> None:
    """Advance the ticket's version (a stale editor must reload) or refuse if someone got there first."""
    done = (
        await Ticket.update({Ticket.version: Ticket.version + 1, Ticket.updated_at: now, **(extra or {})})
        .where((Ticket.id == ticket["id"]) & (Ticket.version == ticket["version"]))
        .returning(Ticket.id)
    )
    if not done:
        raise Conflict("A ticket changed while you were working on it. Reload and try again.")


async def link_tickets(
    actor: CurrentUser, ticket_id: int, other: str | int, kind: str = "related", clock: Clock = system_clock
) -> dict:
    """Link `ticket_id` to another ticket (related or duplicate); both timelines record it."""
    if kind not in LINK_KINDS:
        raise ValidationFailed.one("kind", "Choose one of the listed options.")
    ticket = await workable(actor, ticket_id)
    target = await visible_ref(actor, other)
    other_id = target["id"]
    if other_id == ticket_id:
        raise ValidationFailed.one("target", "A ticket cannot be linked to itself.")
    pair = ((TicketLink.source == ticket_id) & (TicketLink.target == other_id)) | (
        (TicketLink.source == other_id) & (TicketLink.target == ticket_id)
    )
    now = clock.now()
    async with UnitOfWork() as uow:
        if await TicketLink.exists().where(pair):  # inside the transaction: two people linking at once make one link
            raise ValidationFailed.one("target", "These tickets are already linked.")
        await TicketLink.insert(TicketLink(source=ticket_id, target=other_id, kind=kind))
        await TicketActivity.insert(
            TicketActivity(
                ticket=ticket_id,
                actor=actor.id,
                kind="link",
                created_at=now,
                changes={"linked": [None, target["number"]], "link_kind": [None, kind]},
            ),
            TicketActivity(
                ticket=other_id,
                actor=actor.id,
                kind="link",
                created_at=now,
                changes={"linked": [None, ticket["number"]], "link_kind": [None, kind]},
            ),
        )
        for row in (ticket, target):
            await bump(row, now)
            uow.emit(updated_event(row, ["links"]))
    return target


async def unlink_tickets(actor: CurrentUser, ticket_id: int, link_id: int, clock: Clock = system_clock) -> None:
    ticket = await workable(actor, ticket_id)
    link = (
        await TicketLink.select()
        .where((TicketLink.id == link_id) & ((TicketLink.source == ticket_id) | (TicketLink.target == ticket_id)))
        .first()
    )
    if link is None:
        raise ValidationFailed.one("link", "These tickets are not linked.")
    other_id = link["target"] if link["source"] == ticket_id else link["source"]
    other = (
        await Ticket.select(
            Ticket.id,
            Ticket.number,
            Ticket.status,
            Ticket.assignee,
            Ticket.campus,
            Ticket.priority,
            Ticket.version,
            Ticket.ticket_type.code.as_alias("type_code"),
        )
        .where(Ticket.id == other_id)
        .first()
    )
    now = clock.now()
    async with UnitOfWork() as uow:
        await TicketLink.delete().where(TicketLink.id == link_id)
        await TicketActivity.insert(
            TicketActivity(
                ticket=ticket_id,
                actor=actor.id,
                kind="link",
                created_at=now,
                changes={"unlinked": [other["number"], None]},
            ),
            TicketActivity(
                ticket=other_id,
                actor=actor.id,
                kind="link",
                created_at=now,
                changes={"unlinked": [ticket["number"], None]},
            ),
        )
        for row in (ticket, other):
            await bump(row, now)
            uow.emit(updated_event(row, ["links"]))


MERGE_LIMIT = 50


async def _merge_sources(actor: CurrentUser, target_id: int, source_ids: list[int]) -> tuple[dict, list[dict]]:
    ids = list(dict.fromkeys(source_ids))
    if not ids:
        raise ValidationFailed.one("ids", "Choose at least one ticket to merge.")
    if target_id in ids:
        raise ValidationFailed.one("target", "A ticket cannot be merged into itself.")
    if len(ids) > MERGE_LIMIT:
        raise ValidationFailed.one("ids", "Merge at most 50 tickets at once.")
    target = await workable(actor, target_id)
    if target["merged_into"] is not None:
        raise ValidationFailed.one("target", "This ticket was merged into another one; choose that one instead.")
    sources = [await workable(actor, i) for i in ids]
    if any(s["merged_into"] is not None for s in sources):
        raise ValidationFailed.one("ids", "One of these tickets was already merged.")
    return target, sources


async def merge_tickets(actor: CurrentUser, target_id: int, source_ids: list[int], clock: Clock = system_clock) -> dict:
    """Merge sources into the target: their replies, notes, changes and attachments move over with
    their original authors and times; the sources are closed with `merged_into`; tags and watchers
    are united. One transaction: all of it happens or none."""
    target, sources = await _merge_sources(actor, target_id, source_ids)
    source_ids = [s["id"] for s in sources]
    now = clock.now()
    async with UnitOfWork() as uow:
        # Every activity except each source's own "created" row, which stays to start its timeline.
        await TicketActivity.update({TicketActivity.ticket: target_id}, force=True).where(
            TicketActivity.ticket.is_in(source_ids) & (TicketActivity.kind != "created")
        )
        await TicketAttachment.update({TicketAttachment.ticket: target_id}, force=True).where(
            TicketAttachment.ticket.is_in(source_ids)
        )
        await Ticket.update({Ticket.parent: target_id}, force=True).where(
            Ticket.parent.is_in(source_ids) & (Ticket.id != target_id)
        )
        await _unite_tags_and_watchers(target, sources)
        for source in sources:
            closed = {
                Ticket.merged_into: target_id,
                Ticket.status: "closed",
                Ticket.closed_at: source["closed_at"] or now,
            }
            await bump(source, now, closed)
            changes = {"merged_into": [None, target["number"]]}
            if source["status"] != "closed":
                changes["status"] = [source["status"], "closed"]
            await TicketActivity.insert(
                TicketActivity(ticket=source["id"], actor=actor.id, kind="merge", changes=changes, created_at=now)
            )
            uow.emit(updated_event(source, ["merged_into", "status"], status="closed"))
        parent_fix = {Ticket.parent: None} if target["parent"] in source_ids else {}
        await bump(target, now, parent_fix)
        await TicketActivity.insert(
            TicketActivity(
                ticket=target_id,
                actor=actor.id,
                kind="merge",
                body=_merged_text(sources),
                created_at=now,
                changes={"merged": [None, [s["number"] for s in sources]]},
            )
        )
        uow.emit(updated_event(target, ["merge"]))
    return await get_ticket(actor, target_id)


def _merged_text(sources: list[dict]) -> str:
    """The sources' own words (title, description, form values) kept on the target's timeline."""
    parts = []
    for s in sources:
        labels = {f["key"]: f["label"] for f in s["type_fields"]}
        values = [
            f"{labels.get(k, k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in s["fields"].items()
            if v not in (None, "", [])
        ]
        parts.append("\n".join([f"{s['number']} {s['title']}", s["description"], *values]).strip())
    return "\n\n".join(parts)[:10000]


async def _unite_tags_and_watchers(target: dict, sources: list[dict]) -> None:
    ids = [s["id"] for s in sources]
    have_tags = set(target["tags"])
    new_tags = sorted({t for s in sources for t in s["tags"]} - have_tags)
    if new_tags:
        await TicketTag.insert(*[TicketTag(ticket=target["id"], tag=t) for t in new_tags])
    rows = await TicketWatcher.select(TicketWatcher.ticket, TicketWatcher.user).where(
        TicketWatcher.ticket.is_in([target["id"], *ids])
    )
    have = {r["user"] for r in rows if r["ticket"] == target["id"]}
    # Whoever worked a source keeps following the conversation it moved into.
    wanted = {r["user"] for r in rows if r["ticket"] != target["id"]} | {
        s["assignee"] for s in sources if s["assignee"]
    }
    add = sorted(wanted - have - {target["assignee"]})
    if add:
        await TicketWatcher.insert(*[TicketWatcher(ticket=target["id"], user=u) for u in add])


def missing_required(ticket: dict) -> list[dict]:
    """Required form fields the original never had a value for (it predates them): the split form
    asks for these, since the child must pass the type's form. Files are not asked for here."""
    return [
        f
        for f in active_fields(ticket["type_fields"])
        if f["required"] and f["type"] != "attachment" and ticket["fields"].get(f["key"]) in (None, "", [])
    ]


async def split_ticket(
    actor: CurrentUser,
    ticket_id: int,
    activity_id: int,
    title: str,
    fields: dict | None = None,
    clock: Clock = system_clock,
) -> dict:
    """A reply or note becomes a new child ticket (same type, the message as its description).
    `fields` fills in form values the original lacks (see missing_required)."""
    original = await workable(actor, ticket_id)
    if original["merged_into"] is not None:
        raise ValidationFailed.one("activity", "This ticket was merged; split the ticket it was merged into.")
    message = (
        await TicketActivity.select(TicketActivity.id, TicketActivity.body, TicketActivity.kind)
        .where(
            (TicketActivity.id == activity_id)
            & (TicketActivity.ticket == ticket_id)
            & TicketActivity.kind.is_in(["reply", "note"])
        )
        .first()
    )
    if message is None:
        raise ValidationFailed.one("activity", "Choose a reply or note of this ticket.")
    child = await _create_child(actor, original, message["body"], title, fields or {}, clock)
    now = clock.now()
    async with UnitOfWork() as uow:
        await TicketActivity.insert(
            TicketActivity(
                ticket=ticket_id,
                actor=actor.id,
                kind="split",
                created_at=now,
                changes={"child": [None, child["number"]], "from_activity": [None, activity_id]},
            ),
            TicketActivity(
                ticket=child["id"],
                actor=actor.id,
                kind="split",
                created_at=now,
                changes={"parent": [None, original["number"]], "from_activity": [None, activity_id]},
            ),
        )
        await Ticket.update({Ticket.version: Ticket.version + 1, Ticket.updated_at: now}).where(Ticket.id == ticket_id)
        uow.emit(updated_event(original, ["children"]))
    return child


async def _create_child(actor: CurrentUser, original: dict, body: str, title: str, given: dict, clock: Clock) -> dict:
    """create_ticket with the original's type, people and form values. A value the type's form no
    longer accepts (an option removed since) or a deactivated assignee is left out on a second try
    rather than blocking the split."""

    def draft(values: dict, assignee: int | None) -> Draft:
        return Draft(
            type=original["type_code"],
            title=title,
            description=body,
            priority=original["priority"],
            channel="internal",
            fields=values,
            student_id=original["student"],
            class_group_id=original["class_group"],
            campus_id=original["campus"],
            assignee_id=assignee,
            parent_id=original["id"],
            requester_kind=original["requester_kind"],
            requester_name=original["requester_name"],
            requester_phone=original["requester_phone"],
            requester_email=original["requester_email"],
        )

    values, assignee = {**original["fields"], **given}, original["assignee"]
    try:
        return await create_ticket(actor, draft(values, assignee), clock)
    except ValidationFailed as exc:
        bad = {e.field.removeprefix("fields.") for e in exc.errors if e.field.startswith("fields.")}
        bad = bad & set(original["fields"]) - set(given)  # only the original's stale values are left out
        gone = any(e.field == "assignee_id" for e in exc.errors)
        if not bad and not gone:
            raise
    kept = {k: v for k, v in values.items() if k not in bad}
    return await create_ticket(actor, draft(kept, None if gone else assignee), clock)


async def ticket_relations(user: CurrentUser, ticket: dict) -> dict:
    """What components/tickets/relations.html shows: links, parent, children, merges; only tickets
    the user may see (a fixed number of queries)."""
    visible = await policy.visibility_filter(user)
    columns = (Ticket.id, Ticket.number, Ticket.title, Ticket.status)

    async def rows(where) -> list[dict]:
        where &= Ticket.deleted_at.is_null()
        return await Ticket.select(*columns).where(where if visible is None else where & visible).order_by(Ticket.id)

    links = await TicketLink.select().where((TicketLink.source == ticket["id"]) | (TicketLink.target == ticket["id"]))
    other = {lk["id"]: lk["target"] if lk["source"] == ticket["id"] else lk["source"] for lk in links}
    found = {r["id"]: r for r in await rows(Ticket.id.is_in(list(other.values()) or [-1]))}
    linked = [
        {**found[other[lk["id"]]], "link_id": lk["id"], "kind": lk["kind"]} for lk in links if other[lk["id"]] in found
    ]
    ends = [ticket["parent"], ticket["merged_into"]]
    ends_found = {r["id"]: r for r in await rows(Ticket.id.is_in([i for i in ends if i] or [-1]))}
    return {
        "links": linked,
        "parent": ends_found.get(ticket["parent"]),
        "merged_into": ends_found.get(ticket["merged_into"]),
        "children": await rows(Ticket.parent == ticket["id"]),
        "merged": await rows(Ticket.merged_into == ticket["id"]),
    }


async def split_candidates(ticket_id: int) -> list[dict]:
    """The replies and notes of a ticket, oldest first: what can be split off."""
    return await (
        TicketActivity.select(
            TicketActivity.id,
            TicketActivity.kind,
            TicketActivity.body,
            TicketActivity.created_at,
            TicketActivity.actor.display_name.as_alias("actor_name"),
        )
        .where((TicketActivity.ticket == ticket_id) & TicketActivity.kind.is_in(["reply", "note"]))
        .order_by(TicketActivity.id)
    )
