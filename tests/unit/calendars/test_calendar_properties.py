"""Property tests: the calculator against an independent minute-by-minute reference.

10,000 random cases in all (6,000 short spans, 3,000 spans of weeks where whole weeks are skipped,
1,000 around daylight-saving changes), each checking add_business_minutes, business_minutes_between
and next_opening. The reference knows nothing of hours.py: it marks every open local minute of every
date from the raw shift lists and walks the timeline one minute at a time.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.calendars.hours import BusinessHours, add_business_minutes, business_minutes_between, next_opening

BASE = date(2026, 1, 5)  # a Monday; cases start within the following weeks
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def random_shifts(rng: random.Random, max_shifts: int = 4) -> list[tuple[int, int]]:
    """Up to four disjoint shifts on any whole minutes of the day, sometimes none, sometimes all day."""
    roll = rng.random()
    if roll < 0.15:
        return []
    if roll < 0.2:
        return [(0, 1440)]
    points = sorted(rng.sample(range(0, 1441), 2 * rng.randint(1, max_shifts)))
    return [(points[i], points[i + 1]) for i in range(0, len(points), 2)]


def random_calendar(seed: int, tz: str, first: date, days: int) -> dict:
    """A calendar built from one seed (hypothesis draws the seed: cheap to generate, reproducible)."""
    rng = random.Random(seed)
    return {
        "tz": tz,
        "weekly": [random_shifts(rng) for _ in range(7)],
        "holidays": {first + timedelta(days=rng.randint(0, days)) for _ in range(rng.randint(0, 6))},
        "workdays": {
            first + timedelta(days=rng.randint(0, days)): random_shifts(rng) for _ in range(rng.randint(0, 4))
        },
    }


def build(spec: dict) -> BusinessHours:
    return BusinessHours(
        tz=spec["tz"],
        weekly=tuple(tuple(day) for day in spec["weekly"]),
        holidays=frozenset(spec["holidays"]),
        workdays=spec["workdays"],
    )


def shifts_of(spec: dict, day: date) -> list[tuple[int, int]]:
    if day in spec["workdays"]:
        return spec["workdays"][day]
    if day in spec["holidays"]:
        return []
    return spec["weekly"][day.weekday()]


def open_minutes(spec: dict, first_minute: int, count: int) -> bytearray:
    """1 for every UTC minute (minutes since the epoch, from first_minute) whose local wall-clock
    minute lies in a shift of its local date, converting every single minute with zoneinfo."""
    zone = ZoneInfo(spec["tz"])
    marks = bytearray(count)
    for i in range(count):
        local = (EPOCH + timedelta(minutes=first_minute + i)).astimezone(zone)
        minute = local.hour * 60 + local.minute
        marks[i] = any(s <= minute < e for s, e in shifts_of(spec, local.date()))
    return marks


def open_minutes_fixed(spec: dict, first_minute: int, count: int, offset: int) -> bytearray:
    """The same for a zone with one constant UTC offset (minutes): day bitmaps laid end to end."""
    first_local = first_minute + offset
    first_day = first_local // 1440
    days = (first_local + count) // 1440 - first_day + 1
    timeline = bytearray()
    for d in range(days):
        day = date(1970, 1, 1) + timedelta(days=first_day + d)
        bitmap = bytearray(1440)
        for s, e in shifts_of(spec, day):
            bitmap[s:e] = b"\x01" * (e - s)
        timeline += bitmap
    start = first_local - first_day * 1440
    return timeline[start : start + count]


def reference_add(marks: bytearray, need: int) -> int:
    """Index (minutes after the start) of the earliest instant with `need` open minutes behind it."""
    i = counted = 0
    while counted < need:
        counted += marks[i]
        i += 1
    return i


def check(spec: dict, start_minute: int, span: int, fraction: float, marks: bytearray) -> None:
    hours = build(spec)
    start = EPOCH + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=span)
    total = sum(marks)
    assert business_minutes_between(hours, start, end) == total
    need = min(total, int(fraction * (total + 1)))
    assert add_business_minutes(hours, start, need) == start + timedelta(minutes=reference_add(marks, need))
    first_open = marks.find(1)
    if first_open >= 0:
        assert next_opening(hours, start) == start + timedelta(minutes=first_open)


SHANGHAI = 8 * 60
START_RANGE = 28 * 1440
FIRST_MINUTE = int((datetime(2026, 1, 5, tzinfo=UTC) - EPOCH).total_seconds() // 60)
seeds = st.integers(0, 2**32)


@settings(max_examples=6_000, **SETTINGS)
@given(seed=seeds, start=st.integers(0, START_RANGE), span=st.integers(0, 4 * 1440), fraction=st.floats(0, 1))
def test_short_spans_match_the_reference(seed, start, span, fraction):
    spec = random_calendar(seed, "Asia/Shanghai", BASE, 40)
    check(spec, FIRST_MINUTE + start, span, fraction, open_minutes_fixed(spec, FIRST_MINUTE + start, span, SHANGHAI))


@settings(max_examples=3_000, **SETTINGS)
@given(seed=seeds, start=st.integers(0, START_RANGE), span=st.integers(7 * 1440, 22 * 1440), fraction=st.floats(0, 1))
def test_spans_of_weeks_match_the_reference(seed, start, span, fraction):
    spec = random_calendar(seed, "Asia/Shanghai", BASE, 70)
    check(spec, FIRST_MINUTE + start, span, fraction, open_minutes_fixed(spec, FIRST_MINUTE + start, span, SHANGHAI))


DST_CHANGES = {  # UTC instants of offset changes in 2026
    "America/New_York": [datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)],
    "Europe/Berlin": [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)],
    "Australia/Lord_Howe": [datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)],
}
CHANGES = [(tz, moment) for tz, moments in sorted(DST_CHANGES.items()) for moment in moments]


@settings(max_examples=1_000, **SETTINGS)
@given(
    seed=seeds,
    change=st.sampled_from(CHANGES),
    start=st.integers(-3 * 1440, 1440),
    span=st.integers(0, 3 * 1440),
    fraction=st.floats(0, 1),
)
def test_daylight_saving_changes_match_the_reference(seed, change, start, span, fraction):
    tz, moment = change
    begin = moment + timedelta(minutes=start)
    spec = random_calendar(seed, tz, (begin - timedelta(days=2)).date(), 8)  # special days near the change
    start_minute = int((begin - EPOCH).total_seconds() // 60)
    check(spec, start_minute, span, fraction, open_minutes(spec, start_minute, span))
