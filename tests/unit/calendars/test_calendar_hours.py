"""The business-hours calculator on hand-checked cases: weekends, holidays, 调休, lunch breaks."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calendars.hours import (
    ALWAYS_OPEN,
    BusinessHours,
    NeverOpenError,
    add_business_minutes,
    business_minutes_between,
    is_open,
    next_opening,
)

SH = ZoneInfo("Asia/Shanghai")
OFFICE = ((540, 720), (780, 1080))  # 09:00–12:00, 13:00–18:00: 480 minutes
SPRING_FESTIVAL = frozenset(date(2026, 2, 15) + timedelta(days=i) for i in range(9))  # 2-15 … 2-23
NATIONAL_DAY = frozenset(date(2026, 10, 1) + timedelta(days=i) for i in range(7))  # 10-01 … 10-07
HOURS = BusinessHours(
    tz="Asia/Shanghai",
    weekly=(OFFICE,) * 5 + ((), ()),
    holidays=SPRING_FESTIVAL | NATIONAL_DAY,
    workdays={date(2026, 2, 14): OFFICE, date(2026, 9, 20): ((540, 720),)},  # a 调休 Saturday, a short 调休 Sunday
)


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def due(start: datetime, minutes: float, hours: BusinessHours = HOURS) -> datetime:
    return add_business_minutes(hours, start, minutes).astimezone(SH)


def test_friday_afternoon_plus_two_hours_lands_on_monday_morning():
    assert due(sh(2026, 11, 27, 17, 0), 120) == sh(2026, 11, 30, 10, 0)
    assert business_minutes_between(HOURS, sh(2026, 11, 27, 17, 0), sh(2026, 11, 30, 10, 0)) == 120


def test_national_day_week_is_skipped():
    assert due(sh(2026, 9, 30, 17, 0), 120) == sh(2026, 10, 8, 10, 0)
    assert business_minutes_between(HOURS, sh(2026, 10, 1), sh(2026, 10, 8)) == 0
    assert not is_open(HOURS, sh(2026, 10, 5, 10, 0))  # a Monday, but a holiday


def test_make_up_saturday_counts_and_the_holiday_after_it_does_not():
    friday = sh(2026, 2, 13, 17, 0)
    assert due(friday, 120) == sh(2026, 2, 14, 10, 0)  # Saturday 2-14 is a working day
    assert due(friday, 60 + 480) == sh(2026, 2, 14, 18, 0)  # the earliest instant: the end of the shift
    assert due(friday, 60 + 480 + 1) == sh(2026, 2, 24, 9, 1)  # 2-15 … 2-23 closed
    assert is_open(HOURS, sh(2026, 2, 14, 9, 0)) and not is_open(HOURS, sh(2026, 2, 21, 9, 0))  # both Saturdays


def test_make_up_sunday_uses_its_own_shorter_hours():
    assert business_minutes_between(HOURS, sh(2026, 9, 20), sh(2026, 9, 21)) == 180
    assert due(sh(2026, 9, 19, 12, 0), 200) == sh(2026, 9, 21, 9, 20)


def test_lunch_break_is_not_business_time():
    assert due(sh(2026, 11, 30, 11, 30), 60) == sh(2026, 11, 30, 13, 30)
    assert business_minutes_between(HOURS, sh(2026, 11, 30, 11, 0), sh(2026, 11, 30, 14, 0)) == 120
    assert not is_open(HOURS, sh(2026, 11, 30, 12, 30))
    assert next_opening(HOURS, sh(2026, 11, 30, 12, 30)).astimezone(SH) == sh(2026, 11, 30, 13, 0)


def test_start_outside_hours_counts_from_the_next_opening():
    assert due(sh(2026, 11, 30, 7, 0), 30) == sh(2026, 11, 30, 9, 30)  # before opening
    assert due(sh(2026, 11, 30, 19, 0), 30) == sh(2026, 12, 1, 9, 30)  # after closing
    assert due(sh(2026, 11, 28, 10, 0), 30) == sh(2026, 11, 30, 9, 30)  # on a Saturday


def test_start_inside_hours_counts_from_the_start():
    assert due(sh(2026, 11, 30, 10, 15), 45) == sh(2026, 11, 30, 11, 0)
    assert next_opening(HOURS, sh(2026, 11, 30, 10, 15)).astimezone(SH) == sh(2026, 11, 30, 10, 15)


def test_fractional_minutes_keep_the_seconds():
    assert due(sh(2026, 11, 30, 11, 59, 30), 0.75) == sh(2026, 11, 30, 13, 0, 15)
    assert due(sh(2026, 11, 30, 9, 0), 1 / 60) == sh(2026, 11, 30, 9, 0, 1)
    start, end = sh(2026, 11, 30, 11, 59, 30), sh(2026, 11, 30, 13, 0, 15)
    assert business_minutes_between(HOURS, start, end) == pytest.approx(0.75)


def test_zero_minutes_is_the_start_itself_even_when_closed():
    sunday = sh(2026, 11, 29, 3, 0)
    assert due(sunday, 0) == sunday
    assert add_business_minutes(HOURS, sunday, 0).tzinfo == UTC


def test_results_are_aware_utc():
    result = add_business_minutes(HOURS, sh(2026, 11, 30, 9, 0), 60)
    assert result.tzinfo == UTC and result == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_between_is_zero_when_end_is_not_after_start():
    assert business_minutes_between(HOURS, sh(2026, 11, 30, 11), sh(2026, 11, 30, 10)) == 0
    assert business_minutes_between(HOURS, sh(2026, 11, 30, 11), sh(2026, 11, 30, 11)) == 0


def test_many_weeks_at_once_match_day_by_day_counting():
    # A Monday; this calendar has no holidays from March to May, so 60 days are 12 whole weeks.
    start = sh(2026, 3, 2, 9, 0)
    minutes = 60 * 480  # 60 working days
    result = add_business_minutes(HOURS, start, minutes)
    assert business_minutes_between(HOURS, start, result) == minutes
    assert result.astimezone(SH) == sh(2026, 5, 22, 18, 0)  # 12 weeks of 5 days = 60 days; ends Friday 5-22


def test_sixty_business_days_take_well_under_a_millisecond_once_warm():
    start = sh(2026, 3, 2, 9, 0)
    add_business_minutes(HOURS, start, 60 * 480)
    began = time.perf_counter()
    for _ in range(100):
        add_business_minutes(HOURS, start, 60 * 480)
    assert (time.perf_counter() - began) / 100 < 0.001


def test_a_calendar_that_is_never_open_raises_instead_of_looping():
    closed = BusinessHours(tz="Asia/Shanghai", weekly=((),) * 7)
    with pytest.raises(NeverOpenError):
        add_business_minutes(closed, sh(2026, 1, 1), 1)
    assert next_opening(closed, sh(2026, 1, 1)) is None
    assert business_minutes_between(closed, sh(2026, 1, 1), sh(2027, 1, 1)) == 0
    assert add_business_minutes(closed, sh(2026, 1, 1), 0) == sh(2026, 1, 1)


def test_only_special_days_open_then_never_again():
    one_day = BusinessHours(tz="Asia/Shanghai", weekly=((),) * 7, workdays={date(2026, 6, 1): ((540, 600),)})
    assert due(sh(2026, 1, 1), 30, one_day) == sh(2026, 6, 1, 9, 30)
    assert business_minutes_between(one_day, sh(2026, 1, 1), sh(2027, 1, 1)) == 60
    with pytest.raises(NeverOpenError):
        add_business_minutes(one_day, sh(2026, 1, 1), 61)
    assert next_opening(one_day, sh(2026, 6, 1, 10, 0)) is None


def test_always_open_is_plain_elapsed_time():
    start = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    assert add_business_minutes(ALWAYS_OPEN, start, 90) == start + timedelta(minutes=90)
    assert add_business_minutes(ALWAYS_OPEN, start, 60 * 24 * 60) == start + timedelta(days=60)
    assert business_minutes_between(ALWAYS_OPEN, start, start + timedelta(days=3)) == 3 * 1440
    assert is_open(ALWAYS_OPEN, start)


def test_daylight_saving_changes_count_real_elapsed_time():
    ny = ZoneInfo("America/New_York")
    night = BusinessHours(tz="America/New_York", weekly=(((0, 240),),) * 7)  # 00:00–04:00 every day
    # 2026-03-08: 02:00 → 03:00, so the shift lasts three real hours; 2026-11-01: 01:00 twice, five.
    assert business_minutes_between(night, datetime(2026, 3, 8, tzinfo=ny), datetime(2026, 3, 9, tzinfo=ny)) == 180
    assert business_minutes_between(night, datetime(2026, 11, 1, tzinfo=ny), datetime(2026, 11, 2, tzinfo=ny)) == 300
    assert add_business_minutes(night, datetime(2026, 3, 8, 1, 30, tzinfo=ny), 60) == datetime(
        2026, 3, 8, 3, 30, tzinfo=ny
    )


def test_rejects_naive_datetimes_and_bad_amounts():
    with pytest.raises(ValueError):
        add_business_minutes(HOURS, datetime(2026, 1, 1), 10)
    for amount in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            add_business_minutes(HOURS, sh(2026, 1, 1), amount)


def test_shifts_are_validated_and_normalised():
    with pytest.raises(ValueError):
        BusinessHours(tz="Asia/Shanghai", weekly=(((600, 540),),) * 7)
    with pytest.raises(ValueError):
        BusinessHours(tz="Asia/Shanghai", weekly=(((0, 1441),),) * 7)
    with pytest.raises(ValueError):
        BusinessHours(tz="Mars/Olympus", weekly=((),) * 7)
    merged = BusinessHours(tz="UTC", weekly=([[600, 700], [540, 620]],) * 7)
    assert merged.weekly[0] == ((540, 700),)
    assert hash(merged) == hash(BusinessHours(tz="UTC", weekly=(((540, 700),),) * 7))
