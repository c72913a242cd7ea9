from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User


class Announcement(Table):
    """A message an admin or supervisor sends to an audience; delivered by the worker."""

    author = ForeignKey(references=User, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    body = Text(default="")
    audience = Varchar(length=16, default="all")  # all | role | team | campus
    audience_value = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    delivered_at = Timestamptz(null=True, default=None)


class Notification(Table):
    recipient = ForeignKey(references=User, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=50)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=255, default="")
    # Makes delivery idempotent: a job that runs twice cannot notify twice.
    dedupe_key = Varchar(length=120, unique=True, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    read_at = Timestamptz(null=True, default=None)
