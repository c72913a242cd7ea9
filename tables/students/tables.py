from piccolo.columns import JSON, Date, ForeignKey, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, User
from tables.leads.tables import Lead


class Student(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    gender = Varchar(length=10, default="")
    birth_date = Date(null=True, default=None)
    grade = Varchar(length=20, default="")
    guardian_name = Varchar(length=100, default="")
    # Normalised like a lead's phone (app/leads/dedup/normalise.py); `phones` holds the family's others.
    guardian_phone = Varchar(length=32, default="", index=True)
    phones = JSON(default=[])
    email = Varchar(length=255, default="")
    wechat = Varchar(length=64, default="")
    city = Varchar(length=50, default="")
    district = Varchar(length=50, default="")
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    class_teacher = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    advisor = ForeignKey(references=User, null=True, index=True, on_delete=OnDelete.set_null)
    # The lead this student was converted from (Lead.student points back, from every linked lead).
    lead = ForeignKey(references=Lead, null=True, index=True, on_delete=OnDelete.set_null)
    status = Varchar(length=20, default="active")
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)


class StudentTag(Table):
    """A label on a student ("VIP", "重点关注"): automation rules and warnings can test for it."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    student = ForeignKey(references=Student, index=True, on_delete=OnDelete.cascade)
    tag = Varchar(length=40)
    created_at = Timestamptz(default=TimestamptzNow())
