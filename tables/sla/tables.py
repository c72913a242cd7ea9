from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User
from tables.tickets.tables import Ticket, TicketType


class SlaPolicy(Table):
    """Targets for one ticket type × priority. Editing writes a new version and retires the old one;
    tickets keep the copy they were created under (TicketSla.targets), so past results never change.

    Minutes are business minutes of the ticket's campus calendar; NULL means "no target".
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket_type = ForeignKey(references=TicketType, on_delete=OnDelete.cascade)
    priority = Varchar(length=10)
    first_response_minutes = Integer(null=True, default=None)
    next_response_minutes = Integer(null=True, default=None)
    resolution_minutes = Integer(null=True, default=None)
    remind_before_minutes = Integer(null=True, default=None)
    escalate_unclaimed_minutes = Integer(null=True, default=None)
    version = Integer(default=1)
    is_active = Boolean(default=True, index=True)
    effective_from = Timestamptz(default=TimestamptzNow())
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class SlaSettings(Table):
    """One row: school-wide SLA settings (the statuses in which every clock stops)."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    paused_statuses = JSON(default=["pending"])
    updated_at = Timestamptz(default=TimestamptzNow())


class TicketSla(Table):
    """A ticket's SLA: the policy snapshot it was created under and the due times derived from its
    history (app/sla/clock.py), recomputed inside every ticket write's transaction."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, unique=True, on_delete=OnDelete.cascade)
    # {priority: {"first_response": m, "next_response": m, "resolution": m, "remind_before": m,
    #  "escalate_unclaimed": m, "policy": id, "version": n}} for every priority of the type at creation.
    targets = JSON(default={})
    paused_statuses = JSON(default=["pending"])
    first_response_due = Timestamptz(null=True, default=None)
    next_response_due = Timestamptz(null=True, default=None)
    resolution_due = Timestamptz(null=True, default=None)
    paused = Boolean(default=False)
    first_response_breached_at = Timestamptz(null=True, default=None)
    next_response_breached_at = Timestamptz(null=True, default=None)
    resolution_breached_at = Timestamptz(null=True, default=None)
    # The earliest instant at which the worker's scan has something to check (a reminder, an
    # unclaimed escalation or a breach); NULL when nothing is pending. The scan's only filter.
    scan_at = Timestamptz(null=True, default=None, index=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class SlaAction(Table):
    """The exactly-once guard for the worker: a reminder, escalation or breach is acted on only by the
    transaction whose insert of (ticket, rule, due_key) won; UNIQUE(ticket, rule, due_key)."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    rule = Varchar(length=40)  # remind:<target> | escalate:unclaimed | breach:<target>
    due_key = Varchar(length=40)  # the due (ISO, UTC) the action is about
    created_at = Timestamptz(default=TimestamptzNow())
