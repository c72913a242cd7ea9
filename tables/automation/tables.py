from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User
from tables.tickets.tables import Ticket


class AutomationRule(Table):
    """When `trigger` happens to a ticket and its `conditions` hold, run `actions` in order.

    conditions: [{"field": "priority", "op": "is", "value": "urgent"}, ...]
    actions: [{"kind": "add_tag", "tag": "VIP"}, {"kind": "notify_role", "role": "supervisor"}, ...]
    Rules of one trigger run in (position, id) order.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    trigger = Varchar(length=20, index=True)
    match = Varchar(length=3, default="all")  # all | any
    conditions = JSON(default=[])
    actions = JSON(default=[])
    position = Integer(default=0)
    is_active = Boolean(default=True)
    version = Integer(default=1)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)


class ReplyTemplate(Table):
    """A canned reply; `{number}`, `{title}`, `{requester}`, `{status}` are filled from the ticket."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    body = Text()
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class AutomationTrigger(Table):
    """Something happened to a ticket that some rule listens to: written in the transaction of the
    write itself (so it cannot be lost), processed by the worker (job fast path + sweeper)."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    trigger = Varchar(length=20)
    payload = JSON(default={})
    # Rule ids whose actions caused this trigger: those rules do not run on it again (loop protection).
    chain = JSON(default=[])
    depth = Integer(default=0)
    status = Varchar(length=10, default="pending", index=True)  # pending | running | done
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    processed_at = Timestamptz(null=True, default=None)


class AutomationRun(Table):
    """One rule evaluated on one trigger: unique per (trigger_event, rule), so a rule acts once."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    trigger_event = ForeignKey(references=AutomationTrigger, null=True, on_delete=OnDelete.set_null)
    rule = ForeignKey(references=AutomationRule, null=True, index=True, on_delete=OnDelete.set_null)
    rule_name = Varchar(length=100, default="")
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    trigger = Varchar(length=20)
    outcome = Varchar(length=12)  # done | failed | skipped_loop | running
    log = JSON(default=[])  # one entry per action: {"kind", "ok", "detail"}
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    finished_at = Timestamptz(null=True, default=None)
