from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, User


class Lead(Table):
    student_name = Varchar(length=100)
    guardian_name = Varchar(length=100, default="")
    phone = Varchar(length=32, default="", index=True)
    email = Varchar(length=255, default="")
    wechat = Varchar(length=64, default="")
    city = Varchar(length=50, default="")
    district = Varchar(length=50, default="")
    grade = Varchar(length=20, default="")
    source = Varchar(length=32, default="")
    status = Varchar(length=20, default="new", index=True)
    owner = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    note = Text(default="")
    next_follow_up_on = Date(null=True, default=None)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
