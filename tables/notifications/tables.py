from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User


class Announcement(Table):
    """A message an admin or supervisor sends to an audience; delivered by the worker."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    author = ForeignKey(references=User, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    body = Text(default="")
    audience = Varchar(length=16, default="all")  # all | role | team | campus
    audience_value = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    delivered_at = Timestamptz(null=True, default=None)


class Notification(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    recipient = ForeignKey(references=User, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=50)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=255, default="")
    # Makes delivery idempotent: a job that runs twice cannot notify twice.
    dedupe_key = Varchar(length=120, unique=True, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    read_at = Timestamptz(null=True, default=None)


class OutboxMessage(Table):
    """One email or SMS to send. Written in the transaction of the notification it belongs to; the
    worker claims due rows (pending -> sending, with a lease) and marks them sent or schedules a retry.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    channel = Varchar(length=8)  # email | sms
    recipient = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    address = Varchar(length=255)
    subject = Varchar(length=255, default="")
    body = Text(default="")
    kind = Varchar(length=50)
    idempotency_key = Varchar(length=160, unique=True)
    status = Varchar(length=10, default="pending", index=True)  # pending | sending | sent | failed
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    locked_until = Timestamptz(null=True, default=None)
    claim_token = Varchar(length=32, null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table):
    """A person's choice of external channels for one kind of notification, or "*" for all others.

    Unique per (recipient, kind): a unique index added by the migration.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    recipient = ForeignKey(references=User, on_delete=OnDelete.cascade)
    kind = Varchar(length=50)
    email = Boolean(default=False)
    sms = Boolean(default=False)
