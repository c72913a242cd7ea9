from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, User
from tables.students.tables import Student


class TicketType(Table):
    code = Varchar(length=40, unique=True)
    name = Varchar(length=100)
    description = Text(default="")
    is_active = Boolean(default=True)


class Ticket(Table):
    number = Varchar(length=20, unique=True)
    ticket_type = ForeignKey(references=TicketType, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    description = Text(default="")
    priority = Varchar(length=10, default="normal")
    channel = Varchar(length=20, default="web")
    status = Varchar(length=20, default="new", index=True)
    requester_name = Varchar(length=100, default="")
    student = ForeignKey(references=Student, null=True, on_delete=OnDelete.set_null)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    assignee = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
