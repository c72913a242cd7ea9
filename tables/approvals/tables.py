from piccolo.columns import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts.tables import User
from tables.tickets.tables import Ticket, TicketType


class ApprovalWorkflow(Table):
    """The approval steps a ticket type goes through; `version` grows with every save."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket_type = ForeignKey(references=TicketType, unique=True, on_delete=OnDelete.cascade)
    is_active = Boolean(default=True)
    version = Integer(default=1)
    updated_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    updated_at = Timestamptz(default=TimestamptzNow())


class ApprovalStep(Table):
    """One step of a workflow. `approver`: role:<role> | class_teacher | campus_supervisor | finance | user:<id>."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    workflow = ForeignKey(references=ApprovalWorkflow, index=True, on_delete=OnDelete.cascade)
    position = Integer(default=0)
    name = Varchar(length=60)
    approver = Varchar(length=40)
    sla_minutes = Integer(default=480)


class ApprovalInstance(Table):
    """A ticket's run through a workflow. `steps` is a snapshot taken at the start, so editing the
    workflow never changes a running approval. `position` is the 0-based current step."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    ticket = ForeignKey(references=Ticket, unique=True, on_delete=OnDelete.cascade)
    workflow = ForeignKey(references=ApprovalWorkflow, null=True, on_delete=OnDelete.set_null)
    workflow_version = Integer(default=1)
    steps = JSON(default=[])
    status = Varchar(length=12, default="running", index=True)  # running | returned | approved | rejected
    position = Integer(default=0)
    version = Integer(default=1)
    approvers = JSON(default=[])  # user ids of the current step (also rows in PendingApproval)
    step_entered_at = Timestamptz(default=TimestamptzNow())
    step_due_at = Timestamptz(null=True, default=None, index=True)
    reminded_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class PendingApproval(Table):
    """A person whose decision a ticket is waiting for (the current step's approvers), for the workbench."""

    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    instance = ForeignKey(references=ApprovalInstance, index=True, on_delete=OnDelete.cascade)
    ticket = ForeignKey(references=Ticket, index=True, on_delete=OnDelete.cascade)
    user = ForeignKey(references=User, index=True, on_delete=OnDelete.cascade)


class ApprovalDecision(Table):
    id: Serial  # Piccolo adds the primary key itself; declared for the type checker
    instance = ForeignKey(references=ApprovalInstance, index=True, on_delete=OnDelete.cascade)
    position = Integer(default=0)
    step_name = Varchar(length=60, default="")
    actor = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decision = Varchar(length=12)  # approve | reject | send_back | resubmit
    reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
