from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User


class Job(Table):
    """A long-running piece of work started by someone (a lead import), with its progress.

    The arq job does the work and updates the counters; pages and `GET /api/v1/jobs/{id}` read
    them. `params` is what the job was asked to do, `result` what it produced (kind-specific).
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    kind = Varchar(length=40, index=True)
    status = Varchar(length=20, default="queued")  # queued | running | done | failed
    total = Integer(default=0)
    processed = Integer(default=0)
    succeeded = Integer(default=0)
    failed = Integer(default=0)
    created_by = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    params = JSON(default={})
    result = JSON(default={})
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
