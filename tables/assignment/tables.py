"""Auto-assignment: who handles what (skills), when (shifts), per-type settings and decisions."""

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Team, User
from tables.tickets.tables import Ticket, TicketType


class StaffSkill(Table):
    """One thing a person can handle: kind subject | type | language | campus, and its value.

    (user, kind, value) is unique (an index added by the migration).
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=20)
    value = Varchar(length=60)


class StaffShift(Table):
    """A working window on a weekday (Monday=0), in minutes of the day, in the person's campus time."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    weekday = Integer()
    start_minute = Integer()
    end_minute = Integer()


class AssignmentSetting(Table):
    """Per ticket type: auto or manual assignment, which skill kinds a ticket needs, the fallback team."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket_type = ForeignKey(references=TicketType, unique=True, on_delete=OnDelete.cascade)
    mode = Varchar(length=10, default="auto")  # auto | manual
    skill_kinds = JSON(default=["type"])
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class AssignmentCursor(Table):
    """The round-robin position per scope ("team:<id>" or "all"): the user who got the last tie."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    scope = Varchar(length=40, unique=True)
    last_user = Integer(default=0)


class AssignmentDecision(Table):
    """The automatic decision on a ticket, at most one (unique): the sweeper and a second worker
    skip a decided ticket, so a fallback reason is written once."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, unique=True, on_delete=OnDelete.cascade)
    outcome = Varchar(length=10)  # assigned | queued
    assignee = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    reason = Text(default="")
    decided_at = Timestamptz(default=TimestamptzNow())
