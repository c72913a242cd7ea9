from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus


class BusinessCalendar(Table):
    """When a campus (or, with campus NULL, the whole school) is open: used for due times.

    `weekly` is 7 lists (Monday first) of [start, end) minute-of-day shifts. At most one calendar
    per campus and one school default (a partial unique index in the migration)."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    timezone = Varchar(length=50, default="Asia/Shanghai")
    weekly = JSON(default=[[], [], [], [], [], [], []])
    campus = ForeignKey(references=Campus, null=True, unique=True, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    version = Integer(default=1)


class CalendarDay(Table):
    """A date with its own hours: a holiday (closed) or a workday (调休 make-up day, special hours).
    Unique per calendar and day (index in the migration)."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    calendar = ForeignKey(references=BusinessCalendar, on_delete=OnDelete.cascade)
    day = Date(index=True)
    kind = Varchar(length=10)
    shifts = JSON(default=[])
    note = Varchar(length=100, default="")
