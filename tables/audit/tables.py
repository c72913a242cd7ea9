from piccolo.columns import JSON, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User


class AuditEntry(Table):
    """Who changed which record, when, and how: `changes` maps field -> [old, new]."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    action = Varchar(length=16)
    entity_type = Varchar(length=50, index=True)
    entity_id = Integer(index=True)
    changes = JSON(default={})
    ip = Varchar(length=45, default="")
    at = Timestamptz(default=TimestamptzNow(), index=True)
