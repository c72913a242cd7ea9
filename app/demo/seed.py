"""Load the demo school once.

Logins (see `app.demo.data`): `admin` / `admin12345`, and one account per role with password
`demo12345`: supervisor, advisor, teacher, classteacher, academic, finance, service.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from app.core.db import transaction
from app.demo import data
from app.demo.automation import seed_automation
from app.demo.context import Ctx, insert_rows
from app.demo.leads import seed_leads
from app.demo.staff import seed_campuses, seed_staff
from app.demo.teaching import seed_class_groups, seed_courses, seed_students
from app.demo.tickets import seed_tickets
from tables.accounts.tables import ApiToken, Campus, Team, User
from tables.audit.tables import AuditEntry
from tables.automation.tables import AutomationRule, AutomationRun, AutomationTrigger, ReplyTemplate
from tables.leads.tables import Lead
from tables.notifications.tables import Announcement, Notification
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup, Course, Enrollment
from tables.tickets.tables import Ticket, TicketType

log = logging.getLogger(__name__)

# Children before parents, so that deleting never trips a foreign key.
_WIPE_ORDER = [
    AutomationRun,
    AutomationTrigger,
    AutomationRule,
    ReplyTemplate,
    Notification,
    Announcement,
    AuditEntry,
    ApiToken,
    Ticket,
    TicketType,
    Enrollment,
    ClassGroup,
    Course,
    Student,
    Lead,
]


async def seed_demo(*, seed: int = 20261123, force: bool = False) -> dict[str, int]:
    """Fill the database with the demo school; returns the number of rows per table.

    Does nothing and returns {} when the user `admin` already exists. With `force=True` it
    first DELETES EVERY ROW of the tables it fills (users, leads, tickets, audit log, ...) and
    loads the school again: for resetting a demo or development database only.
    The same `seed` gives the same school; dates are placed relative to the current time.
    """
    ctx = Ctx(seed=seed, now=datetime.now(UTC).replace(microsecond=0))
    async with transaction():  # checked inside the transaction so two seeders cannot both run
        if await User.exists().where(User.username == "admin"):
            if not force:
                return {}
            await _wipe()
        await seed_campuses(ctx)
        await seed_staff(ctx)
        await seed_courses(ctx)
        await seed_class_groups(ctx)
        await seed_leads(ctx)
        await seed_students(ctx)
        await seed_tickets(ctx)
        await seed_automation(ctx)
        await _seed_notifications(ctx)
    log.info("Demo school loaded: %s", ctx.counts)
    return ctx.counts


async def _wipe() -> None:
    for table in _WIPE_ORDER:
        await table.delete(force=True)
    await Team.update({Team.leader: None, Team.parent: None}, force=True)
    await User.delete(force=True)
    await Team.delete(force=True)
    await Campus.delete(force=True)


async def _seed_notifications(ctx: Ctx) -> None:
    rows = [
        dict(
            recipient=ctx.user(username)["id"],
            kind="welcome",
            title=title,
            body=body,
            link="/",
            dedupe_key=f"demo:welcome:{username}:{i}",
            created_at=ctx.now - timedelta(minutes=5 - i),
        )
        for username in ("admin", "advisor")
        for i, (title, body) in enumerate(data.NOTIFICATIONS)
    ]
    await insert_rows(Notification, rows)
    ctx.count(Notification, len(rows))
