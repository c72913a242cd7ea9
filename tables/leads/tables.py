from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, User


class Lead(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    student_name = Varchar(length=100)
    guardian_name = Varchar(length=100, default="")
    # The primary number; `phones` holds the family's other numbers, normalised the same way.
    phone = Varchar(length=32, default="", index=True)
    phones = JSON(default=[])
    email = Varchar(length=255, default="")
    wechat = Varchar(length=64, default="")
    city = Varchar(length=50, default="")
    district = Varchar(length=50, default="")
    grade = Varchar(length=20, default="")
    course_interests = JSON(default=[])
    source = Varchar(length=32, default="")
    source_campaign = Varchar(length=100, default="")
    status = Varchar(length=20, default="new", index=True)
    invalid_reason = Varchar(length=200, default="")
    owner = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    note = Text(default="")
    next_follow_up_on = Date(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
    # Set when this lead was merged away into another one (it is then soft-deleted too).
    merged_into: ForeignKey["Lead"] = ForeignKey(references="self", null=True, on_delete=OnDelete.set_null)
    converted_at = Timestamptz(null=True, default=None)
    # The student this lead became, or was linked to (app/students/conversion/services.py). A plain id, not a
    # foreign key: Student.lead already references Lead, and a key back would make the leads and
    # students apps depend on each other (a fresh PostgreSQL database could not be migrated).
    student = Integer(null=True, default=None, index=True)


class LeadMatchKey(Table):
    """Blocking keys for duplicate detection: "<kind>:<value>" (phone, email, WeChat id, name pinyin).

    A duplicate check looks candidates up by these keys only, never by scanning leads. Rows are
    rewritten in the transaction of every create, edit, delete, restore and merge of their lead.
    `profile` holds the lead's compared fields in normal form (`scoring.encode_profile`), the same
    on each of its rows, so a check scores candidates without reading them from `lead`.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    lead = ForeignKey(references=Lead, index=True, on_delete=OnDelete.cascade)
    # Looked up on the covering index (key, lead) of migration 2026-12-02T05:52:08; no index of its own.
    key = Varchar(length=140)
    profile = Text(default="")


class LeadMerge(Table):
    """One merge of `merged` into `survivor`, with what is needed to undo it.

    `survivor_before` holds the survivor's field values before the merge; `moved` maps
    "<table>.<column>" to the ids of rows re-pointed from the merged lead to the survivor.
    """

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    survivor = ForeignKey(references=Lead, index=True, on_delete=OnDelete.cascade)
    merged = ForeignKey(references=Lead, index=True, on_delete=OnDelete.cascade)
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    survivor_before = JSON(default={})
    survivor_after = JSON(default={})
    moved = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    undone_at = Timestamptz(null=True, default=None)
