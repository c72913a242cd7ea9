"""Follow-up records (跟进记录) and the public pool (公海): its settings, distribution rules and the
exactly-once guard of the owner's one-day notice before a lead returns to the pool."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import Team, User
from tables.leads.tables import Lead
from tables.students.tables import Student


class FollowUp(Table):
    """One contact with a lead (or a student). When leads are merged, `lead` is re-pointed."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    lead = ForeignKey(references=Lead, null=True, index=True, on_delete=OnDelete.cascade)
    student = ForeignKey(references=Student, null=True, index=True, on_delete=OnDelete.cascade)
    author = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=16)  # phone | visit | sms | email | wechat | trial
    outcome = Varchar(length=20, default="")
    note = Text(default="")
    next_step = Varchar(length=500, default="")
    next_follow_up_at = Timestamptz(null=True, default=None)
    # The reminder of next_follow_up_at: none | pending | sent | superseded | skipped. The worker
    # moves pending -> sent with one conditional UPDATE, so a reminder goes out once.
    reminder = Varchar(length=12, default="none")
    reminded_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class LeadPoolSetting(Table):
    """The pool's rules, one row (key "default"). A day count of 0 switches its rule off."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    key = Varchar(length=20, unique=True)
    claim_limits = JSON(default={})  # role -> max private leads (null: no limit; 0: may not claim)
    no_follow_up_days = Integer(default=0)
    not_converted_days = Integer(default=0)
    # Leads with a larger id are new to the distribution sweep (set to the newest lead on creation,
    # so rules apply to leads that arrive after them).
    distributed_upto = Integer(default=0)
    version = Integer(default=1)
    updated_at = Timestamptz(default=TimestamptzNow())


class LeadDistributionRule(Table):
    """An ordered rule that hands a new or returned pool lead to someone; none fits: it stays."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    position = Integer(default=0)
    match = Varchar(length=10, default="any")  # region | course | any
    city = Varchar(length=50, default="")
    district = Varchar(length=50, default="")
    course = Varchar(length=60, default="")
    target_user = ForeignKey(references=User, null=True, on_delete=OnDelete.cascade)
    target_team = ForeignKey(references=Team, null=True, on_delete=OnDelete.cascade)
    method = Varchar(length=12, default="least_load")  # least_load | round_robin
    last_user = Integer(default=0)  # the round-robin cursor: who got the previous lead
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class LeadPoolNotice(Table):
    """The owner was told that a lead returns to the pool: UNIQUE(lead, owner, rule, basis), so two
    workers or a job run twice tell them once. `basis` is when the countdown started."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    lead = ForeignKey(references=Lead, index=True, on_delete=OnDelete.cascade)
    owner = ForeignKey(references=User, on_delete=OnDelete.cascade)
    rule = Varchar(length=20)  # no_follow_up | not_converted
    basis = Varchar(length=40)
    due_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
