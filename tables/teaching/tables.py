from decimal import Decimal

from piccolo.columns import Date, ForeignKey, Integer, Numeric, Serial, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Campus, User
from tables.students.tables import Student


class Course(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    subject = Varchar(length=30)
    level = Varchar(length=30, default="")
    lesson_minutes = Integer(default=60)
    total_lessons = Integer(default=20)
    price = Numeric(digits=(10, 2), default=Decimal("0"))
    created_at = Timestamptz(default=TimestamptzNow())


class ClassGroup(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    name = Varchar(length=100)
    course = ForeignKey(references=Course, on_delete=OnDelete.restrict)
    campus = ForeignKey(references=Campus, null=True, on_delete=OnDelete.set_null)
    teacher = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=20, default="small")  # large | small | one_to_one
    capacity = Integer(default=12)
    start_date = Date(null=True, default=None)
    status = Varchar(length=20, default="open")
    created_at = Timestamptz(default=TimestamptzNow())


class Enrollment(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    student = ForeignKey(references=Student, index=True, on_delete=OnDelete.restrict)
    class_group = ForeignKey(references=ClassGroup, index=True, on_delete=OnDelete.restrict)
    status = Varchar(length=20, default="active")
    created_at = Timestamptz(default=TimestamptzNow())
