"""The SLA clock replays a ticket's history (pure; the histories are built on a FrozenClock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from app.calendars.hours import ALWAYS_OPEN, BusinessHours
from app.core.clock import FrozenClock
from app.sla.clock import Step, compute

SHANGHAI = timezone(timedelta(hours=8))
# Monday to Friday 09:00-12:00 and 13:00-18:00 in Shanghai; the weekend closed.
OFFICE = BusinessHours(tz="Asia/Shanghai", weekly=(((540, 720), (780, 1080)),) * 5 + ((), ()))
TARGETS = {
    "normal": {"first_response": 120, "next_response": 480, "resolution": 1440},
    "urgent": {"first_response": 30, "next_response": 60, "resolution": 240},
    "low": {"first_response": 480, "next_response": None, "resolution": None},
}
PAUSED = frozenset({"pending"})


class History:
    """Builds a TicketActivity-like history on a FrozenClock."""

    def __init__(self, at: datetime, status: str = "new", priority: str = "normal") -> None:
        self.clock = FrozenClock(at)
        self.created_at = at
        self.steps = [Step(at, "created", changes={"status": [None, status], "priority": [None, priority]})]

    def after(self, **delta: float) -> History:
        self.clock.advance(**delta)
        return self

    def status(self, old: str, new: str) -> History:
        self.steps.append(Step(self.clock.now(), "status", changes={"status": [old, new]}))
        return self

    def priority(self, old: str, new: str) -> History:
        self.steps.append(Step(self.clock.now(), "priority", changes={"priority": [old, new]}))
        return self

    def staff_reply(self) -> History:
        self.steps.append(Step(self.clock.now(), "reply", is_public=True))
        return self

    def note(self) -> History:
        self.steps.append(Step(self.clock.now(), "note", is_public=False))
        return self

    def requester_reply(self) -> History:
        self.steps.append(Step(self.clock.now(), "reply", is_public=True, changes={"by": "requester"}))
        return self

    def state(self, hours: BusinessHours = ALWAYS_OPEN, paused=PAUSED):
        return compute(TARGETS, paused, hours, self.created_at, list(self.steps))


T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


def test_first_response_and_resolution_due_from_creation():
    state = History(T0).state()
    assert state.targets["first_response"].due == T0 + timedelta(hours=2)
    assert state.targets["resolution"].due == T0 + timedelta(hours=24)
    assert state.targets["next_response"].due is None
    assert state.earliest_due == T0 + timedelta(hours=2)
    assert not state.paused


def test_business_hours_skip_lunch_night_and_weekend():
    # Friday 17:00 Shanghai: one hour left that day, the second after the weekend on Monday 09:00-10:00.
    friday = datetime(2026, 12, 4, 17, 0, tzinfo=SHANGHAI)
    state = History(friday).state(OFFICE)
    assert state.targets["first_response"].due == datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    # Wednesday 11:00: one hour before lunch, the second after it.
    state = History(datetime(2026, 12, 2, 11, 0, tzinfo=SHANGHAI)).state(OFFICE)
    assert state.targets["first_response"].due == datetime(2026, 12, 2, 14, 0, tzinfo=SHANGHAI)


def test_holiday_is_skipped():
    hours = BusinessHours(tz="Asia/Shanghai", weekly=OFFICE.weekly, holidays=frozenset({date(2026, 12, 3)}))
    state = History(datetime(2026, 12, 2, 17, 0, tzinfo=SHANGHAI)).state(hours)
    assert state.targets["first_response"].due == datetime(2026, 12, 4, 10, 0, tzinfo=SHANGHAI)


def test_public_staff_reply_meets_first_response_but_a_note_does_not():
    history = History(T0).after(minutes=30).note()
    assert history.state().targets["first_response"].met_at is None
    history.after(minutes=30).staff_reply()
    first = history.state().targets["first_response"]
    assert first.met_at == T0 + timedelta(hours=1)
    assert first.breached_at(T0 + timedelta(days=5)) is None
    assert history.state().earliest_due == T0 + timedelta(hours=24)  # only resolution is still open


def test_late_first_response_is_a_breach_at_the_due():
    state = History(T0).after(hours=3).staff_reply().state()
    assert state.targets["first_response"].breached_at(T0 + timedelta(hours=3)) == T0 + timedelta(hours=2)


def test_open_target_breaches_only_once_its_due_has_passed():
    first = History(T0).state().targets["first_response"]
    assert first.breached_at(T0 + timedelta(minutes=119)) is None
    assert first.breached_at(T0 + timedelta(minutes=120)) == T0 + timedelta(minutes=120)


def test_pending_pauses_every_clock_and_resuming_shifts_the_dues():
    history = History(T0).after(hours=1).status("new", "pending")
    state = history.state()
    assert state.paused
    assert state.targets["first_response"].due is None and state.targets["resolution"].due is None
    assert state.earliest_due is None
    assert state.targets["first_response"].remaining_minutes == 60
    history.after(hours=5).status("pending", "in_progress")
    state = history.state()
    assert not state.paused
    # 1 h used before the pause, 1 h left after resuming at T0+6h.
    assert state.targets["first_response"].due == T0 + timedelta(hours=7)
    assert state.targets["resolution"].due == T0 + timedelta(hours=29)


def test_paused_statuses_are_configurable():
    history = History(T0).after(hours=1).status("new", "in_progress").after(hours=5)
    assert history.state(paused=frozenset({"in_progress"})).targets["first_response"].due is None
    assert history.state(paused=frozenset()).targets["first_response"].due == T0 + timedelta(hours=2)


def test_requester_reply_starts_next_response_and_staff_reply_meets_it():
    history = History(T0).after(minutes=10).staff_reply().after(hours=2).requester_reply()
    state = history.state()
    next_response = state.targets["next_response"]
    assert next_response.started_at == T0 + timedelta(minutes=130)
    assert next_response.due == T0 + timedelta(minutes=130 + 480)
    assert state.earliest_due == next_response.due
    history.after(hours=9).staff_reply()  # 540 min > 480: met late
    state = history.state()
    assert state.targets["next_response"].met_at == T0 + timedelta(minutes=130 + 540)
    assert state.targets["next_response"].breached_at(history.clock.now()) == T0 + timedelta(minutes=610)
    assert len(state.next_response_rounds) == 1


def test_second_requester_reply_keeps_the_first_unanswered_start():
    history = History(T0).staff_reply().after(hours=1).requester_reply().after(hours=1).requester_reply()
    state = history.state()
    assert state.targets["next_response"].started_at == T0 + timedelta(hours=1)
    assert len(state.next_response_rounds) == 1


def test_requester_reply_before_the_first_response_starts_no_next_response_clock():
    state = History(T0).after(minutes=5).requester_reply().state()
    assert state.targets["next_response"].due is None
    assert state.targets["first_response"].due == T0 + timedelta(hours=2)


def test_requester_reply_unpausing_a_pending_ticket():
    history = History(T0).staff_reply().after(hours=1).status("new", "pending").after(hours=3)
    history.requester_reply().status("pending", "in_progress")
    state = history.state()
    assert state.targets["next_response"].due == T0 + timedelta(hours=4, minutes=480)
    assert state.targets["resolution"].due == T0 + timedelta(hours=24 + 3)


def test_resolving_stops_resolution_and_reopen_resumes_with_the_time_used():
    history = History(T0).staff_reply().after(hours=10).status("in_progress", "resolved")
    state = history.state()
    assert state.targets["resolution"].met_at == T0 + timedelta(hours=10)
    assert state.targets["resolution"].breached_at(T0 + timedelta(days=9)) is None
    assert state.earliest_due is None
    history.after(hours=48).status("resolved", "in_progress")
    state = history.state()
    assert state.targets["resolution"].met_at is None
    assert state.targets["resolution"].due == T0 + timedelta(hours=58 + 14)


def test_priority_change_switches_to_the_new_targets():
    history = History(T0).after(minutes=10).priority("normal", "urgent")
    state = history.state()
    assert state.priority == "urgent"
    assert state.targets["first_response"].due == T0 + timedelta(minutes=30)
    assert state.targets["resolution"].due == T0 + timedelta(hours=4)


def test_priority_raised_after_the_target_was_used_up_puts_the_due_in_the_past():
    history = History(T0).after(hours=1).priority("normal", "urgent")
    first = history.state().targets["first_response"]
    assert first.due == T0 + timedelta(minutes=30)
    assert first.breached_at(history.clock.now()) == T0 + timedelta(minutes=30)


def test_lowering_priority_to_one_without_targets_leaves_nothing_due():
    state = History(T0).after(minutes=1).priority("normal", "low").state()
    assert state.targets["resolution"].due is None and state.targets["next_response"].due is None
    assert state.targets["first_response"].due == T0 + timedelta(hours=8)


def test_priority_without_a_policy_has_no_dues():
    state = compute({}, PAUSED, ALWAYS_OPEN, T0, History(T0).steps)
    assert state.earliest_due is None
    assert all(t.due is None for t in state.targets.values())


def test_closed_ticket_without_reply_stops_first_response_too():
    state = History(T0).after(minutes=20).status("new", "closed").state()
    assert state.targets["first_response"].due is None
    assert state.earliest_due is None


def test_history_order_does_not_depend_on_input_order():
    history = History(T0).after(hours=1).status("new", "pending").after(hours=1).status("pending", "in_progress")
    shuffled = list(reversed(history.steps))
    assert compute(TARGETS, PAUSED, ALWAYS_OPEN, T0, shuffled).earliest_due == history.state().earliest_due


def test_calendar_that_never_opens_has_no_due():
    closed = BusinessHours(tz="UTC", weekly=((),) * 7)
    assert History(T0).state(closed).earliest_due is None


def test_priority_raised_after_a_target_was_met_does_not_rewrite_that_result():
    history = History(T0).after(minutes=100).staff_reply().after(minutes=10).priority("normal", "urgent")
    state = history.state()
    first = state.targets["first_response"]
    assert first.met_at == T0 + timedelta(minutes=100)
    assert first.breached_at(history.clock.now()) is None  # met within normal's 120, judged by normal
    assert state.targets["resolution"].due == T0 + timedelta(minutes=240)  # the open clock follows urgent
