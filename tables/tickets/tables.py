from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, Team, User
from tables.students.tables import Student
from tables.teaching.tables import ClassGroup


class TicketType(Table):
    """A kind of request with its own form: `fields` is an ordered list of field definitions.

    A field's `key` never changes once created; removing a field archives it, so old tickets'
    values keep their label.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    code = Varchar(length=40, unique=True)
    name = Varchar(length=100)
    description = Text(default="")
    fields = JSON(default=[])
    default_priority = Varchar(length=10, default="normal")
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    public_intake = Boolean(default=True)
    sort_order = Integer(default=0)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Ticket(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    number = Varchar(length=20, unique=True)
    ticket_type = ForeignKey(references=TicketType, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    description = Text(default="")
    fields = JSON(default={})
    priority = Varchar(length=10, default="normal", index=True)
    channel = Varchar(length=20, default="web")
    status = Varchar(length=20, default="new", index=True)
    requester_kind = Varchar(length=10, default="guardian")  # student | guardian | lead | staff
    requester_name = Varchar(length=100, default="")
    requester_phone = Varchar(length=32, default="")
    requester_email = Varchar(length=255, default="")
    requester_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    student = ForeignKey(references=Student, null=True, on_delete=OnDelete.set_null)
    class_group = ForeignKey(references=ClassGroup, null=True, on_delete=OnDelete.set_null)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    assignee = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    parent: ForeignKey["Ticket"] = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    merged_into: ForeignKey["Ticket"] = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    # Lower-cased title, description and field values: one LIKE over it is the full-text search.
    search_text = Text(default="")
    tracking_token = Varchar(length=43, default="", index=True)
    board_position = Integer(default=0)
    version = Integer(default=1)
    due_at = Timestamptz(null=True, default=None)
    first_response_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    csat_score = Integer(null=True, default=None)
    csat_comment = Text(default="")
    csat_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)


class TicketActivity(Table):
    """The timeline: replies, internal notes and every change, in one ordered stream."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(
        length=20
    )  # created | reply | note | status | assign | priority | fields | link | merge | split | csat
    body = Text(default="")
    is_public = Boolean(default=False)
    changes = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())


class TicketTag(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    tag = Varchar(length=40, index=True)


class TicketWatcher(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)


class TicketLink(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    source = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    target = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=20, default="related")


class TicketAttachment(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    activity = ForeignKey(references=TicketActivity, null=True, on_delete=OnDelete.set_null)
    field_key = Varchar(length=40, default="")
    filename = Varchar(length=255)
    stored_name = Varchar(length=80, unique=True)
    content_type = Varchar(length=100)
    size = Integer()
    uploaded_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class SavedView(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)
    name = Varchar(length=60)
    query = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class BoardDisplay(Table):
    """A wall display's access: a secret token (stored hashed) that opens the read-only board."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=60)
    token_hash = Varchar(length=64, unique=True)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
