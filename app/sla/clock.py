"""The SLA clock: due times derived from a ticket's own history (pure: no I/O, no "now" needed).

Replaying the timeline rather than patching stored dues is what makes a pause, a priority change
or a reopen come out right: every clock is the sum of the business minutes in which it ran.

- first response: runs from creation; met by the first public staff reply.
- next response: starts at each requester reply made after the first response was met (an
  unanswered requester reply keeps the earlier start); met by the next public staff reply.
- resolution: runs from creation; stops when the ticket is resolved or closed, and a reopen
  resumes it with the minutes already used.
- Every clock stops while the ticket is in a paused status (pending on the requester by default)
  and while it is resolved or closed.
- Targets follow the ticket's current priority: after a priority change a clock's due is the instant
  its accumulated business time reaches the new priority's target (in the past if already used up).
  A clock already met keeps the verdict of the priority in force when it was met.
  The targets of every priority come from the snapshot taken when the ticket was created, so a
  later policy edit never changes an existing ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.calendars.hours import BusinessHours, NeverOpenError, add_business_minutes, business_minutes_between

TARGETS = ("first_response", "next_response", "resolution")
DONE_STATUSES = frozenset({"resolved", "closed"})


@dataclass(frozen=True)
class Step:
    """One timeline entry, as stored in TicketActivity."""

    at: datetime
    kind: str
    is_public: bool = False
    changes: dict = field(default_factory=dict)

    @property
    def staff_reply(self) -> bool:
        return self.kind == "reply" and self.is_public and self.changes.get("by") not in ("requester", "automation")

    @property
    def requester_reply(self) -> bool:
        return self.kind == "reply" and self.changes.get("by") == "requester"


@dataclass
class TargetState:
    """One clock. `due` is None while it is stopped (paused, or nothing to wait for)."""

    name: str
    minutes: int | None = None  # the target under the current priority
    started_at: datetime | None = None
    due: datetime | None = None
    met_at: datetime | None = None
    used_minutes: float = 0.0  # business minutes run so far
    running: bool = False

    @property
    def remaining_minutes(self) -> float | None:
        return None if self.minutes is None else self.minutes - self.used_minutes

    def breached_at(self, now: datetime) -> datetime | None:
        """The instant the target was missed, if it was: met late, or still open past its due."""
        if self.due is None:
            return None
        if self.met_at is not None:
            return self.due if self.met_at > self.due else None
        return self.due if self.due <= now else None


@dataclass
class SlaState:
    targets: dict[str, TargetState]
    status: str
    priority: str
    paused: bool
    # Every next-response round: (requester reply at, due, met at) — history of each breach.
    next_response_rounds: list[tuple[datetime, datetime | None, datetime | None]] = field(default_factory=list)

    def open_dues(self) -> list[datetime]:
        return [t.due for t in self.targets.values() if t.due is not None and t.met_at is None and t.running]

    @property
    def earliest_due(self) -> datetime | None:
        dues = self.open_dues()
        return min(dues) if dues else None


@dataclass
class _Clock:
    intervals: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    started_at: datetime | None = None
    met_at: datetime | None = None
    met_priority: str | None = None  # a met clock is judged by the priority in force when it was met

    @property
    def active(self) -> bool:
        return self.started_at is not None and self.met_at is None

    def open(self, at: datetime) -> None:
        if not self.intervals or self.intervals[-1][1] is not None:
            self.intervals.append((at, None))

    def close(self, at: datetime) -> None:
        if self.intervals and self.intervals[-1][1] is None:
            self.intervals[-1] = (self.intervals[-1][0], at)


def _due(
    hours: BusinessHours, intervals: list[tuple[datetime, datetime | None]], target: float
) -> tuple[datetime | None, float]:
    """The instant the intervals' business time reaches `target`, and the business minutes used.

    None when the intervals are all closed before reaching it (the clock is stopped)."""
    used = 0.0
    try:
        for start, end in intervals:
            if end is None:
                return add_business_minutes(hours, start, max(target - used, 0.0)), used
            span = business_minutes_between(hours, start, end)
            if used + span >= target:
                return add_business_minutes(hours, start, max(target - used, 0.0)), used + span
            used += span
    except NeverOpenError:  # a calendar that never opens again: nothing can fall due
        pass
    return None, used


def _used(hours: BusinessHours, intervals: list[tuple[datetime, datetime | None]], until: datetime | None) -> float:
    total = 0.0
    for start, end in intervals:
        end = end or until
        if end is not None:
            total += business_minutes_between(hours, start, end)
    return total


def compute(
    targets: dict[str, dict],
    paused_statuses: frozenset[str] | set[str],
    hours: BusinessHours,
    created_at: datetime,
    history: list[Step],
    *,
    status: str = "new",
    priority: str = "normal",
) -> SlaState:
    """Replay `history` (TicketActivity rows in order) from `created_at`.

    `targets` is the snapshot {priority: {"first_response": m, "next_response": m, "resolution": m}};
    `status` and `priority` are the values at creation, used when the history has no "created" row.
    """
    clocks = {name: _Clock() for name in TARGETS}
    clocks["first_response"].started_at = created_at
    clocks["resolution"].started_at = created_at
    rounds: list[list] = []  # [requester reply at, clock] per next-response round
    steps = sorted(history, key=lambda s: s.at)
    for step in steps:
        if step.kind == "created":
            status = (step.changes.get("status") or [None, status])[1] or status
            priority = (step.changes.get("priority") or [None, priority])[1] or priority

    def running() -> bool:
        return status not in paused_statuses and status not in DONE_STATUSES

    def sync(at: datetime) -> None:
        for clock in clocks.values():
            if clock.active and running():
                clock.open(at)
            else:
                clock.close(at)

    sync(created_at)
    for step in steps:
        if step.kind == "created":
            continue
        at = step.at
        if isinstance(step.changes.get("status"), list) and len(step.changes["status"]) == 2:
            status = step.changes["status"][1]
            if status in DONE_STATUSES and clocks["resolution"].met_at is None:
                clocks["resolution"].close(at)
                clocks["resolution"].met_at, clocks["resolution"].met_priority = at, priority
            elif status not in DONE_STATUSES and clocks["resolution"].met_at is not None:
                clocks["resolution"].met_at = None  # reopened: the clock resumes where it stopped
        if isinstance(step.changes.get("priority"), list) and len(step.changes["priority"]) == 2:
            priority = step.changes["priority"][1] or priority
        if step.staff_reply:
            for name in ("first_response", "next_response"):
                if clocks[name].active:
                    clocks[name].close(at)
                    clocks[name].met_at, clocks[name].met_priority = at, priority
        elif (
            step.requester_reply and clocks["first_response"].met_at is not None and not clocks["next_response"].active
        ):
            clock = _Clock(started_at=at)
            clocks["next_response"] = clock
            rounds.append([at, clock])
        sync(at)

    def target_minutes(name: str, clock: _Clock) -> int | None:
        in_force = clock.met_priority if clock.met_at is not None and clock.met_priority else priority
        return (targets.get(in_force) or {}).get(name)

    state = SlaState(targets={}, status=status, priority=priority, paused=status in paused_statuses)
    for name, clock in clocks.items():
        minutes = target_minutes(name, clock)
        target = TargetState(
            name=name,
            minutes=minutes,
            started_at=clock.started_at,
            met_at=clock.met_at,
            running=bool(clock.intervals) and clock.intervals[-1][1] is None,
        )
        if minutes is not None and clock.started_at is not None:
            target.due, _ = _due(hours, clock.intervals, minutes)
            target.used_minutes = _used(hours, clock.intervals, None)
        state.targets[name] = target
    for at, clock in rounds:
        minutes = target_minutes("next_response", clock)
        due = _due(hours, clock.intervals, minutes)[0] if minutes is not None else None
        state.next_response_rounds.append((at, due, clock.met_at))
    return state
