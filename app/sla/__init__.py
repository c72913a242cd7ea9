"""Service levels (issue #4): policies, due times derived from ticket history, reminders, escalation.

- policies.py: the admin's matrix (ticket type × priority), versions, paused statuses, the seed.
- clock.py: pure; replays a ticket's TicketActivity history into due times (business hours from
  app.calendars). Choice documented there: every priority's targets are snapshotted at creation
  (TicketSla.targets), so a priority change switches to the snapshot's other row, never to a
  policy edited since. The paused statuses are snapshotted too.
- services.py + reactions.py: every ticket write recomputes TicketSla and Ticket.due_at inside
  its own transaction.
- scan.py (+ tasks/sla.py, every 15 s): reminders, unclaimed escalation and breaches, exactly once
  per (ticket, rule, due) through the unique SlaAction row.
- controllers.py: /admin/sla and the ticket page's card (/tickets/{id}/sla).
"""
