from piccolo.columns import (
    Boolean,
    ForeignKey,
    LazyTableReference,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Campus(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100, unique=True)
    code = Varchar(length=20, unique=True)
    timezone = Varchar(length=50, default="Asia/Shanghai")
    address = Varchar(length=255, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Team(Table):
    """A team; its leader sees the members' records, and so does every leader up the parent chain."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    parent: ForeignKey["Team"] = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    # Added by the second migration: User references Team, so Team cannot reference User at creation.
    leader: ForeignKey["User"] = ForeignKey(
        references=LazyTableReference("User", module_path="tables.accounts.tables"),
        null=True,
        on_delete=OnDelete.set_null,
    )
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="account_user"):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    email = Varchar(length=255, default="")
    phone = Varchar(length=32, default="")
    password_hash = Varchar(length=255)
    role = Varchar(length=32, index=True)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    team = ForeignKey(references=Team, null=True, on_delete=OnDelete.set_null)
    is_active = Boolean(default=True)
    locale = Varchar(length=10, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    password_changed_at = Timestamptz(default=TimestamptzNow())


class ApiToken(Table):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    user = ForeignKey(references=User, on_delete=OnDelete.restrict)
    name = Varchar(length=100, default="")
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
