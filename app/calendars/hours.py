"""Business-hours arithmetic: pure functions, no I/O, no database.

A :class:`BusinessHours` describes when a school (or one campus) is open, in the wall-clock time of
its time zone: weekly shifts per weekday (split shifts for the lunch break), holidays (closed all
day) and special dates with their own shifts (调休 make-up working days, short days).

Semantics (the property tests check exactly these):

* An instant is *open* when its local wall-clock time, in ``hours.tz``, falls inside one of the
  ``[start, end)`` minute-of-day shifts of its local date. The shifts of a date are
  ``workdays[date]`` if the date is listed there (this wins over ``holidays``), else nothing if the
  date is a holiday, else ``weekly[date.weekday()]``.
* Business time is measured in real elapsed time (UTC), so a shift spanning a DST change lasts
  what the clock on the wall says it lasts *and* what really elapses (the repeated hour counts
  twice, the skipped hour not at all).
* ``add_business_minutes(h, start, m)`` is the earliest instant ``t >= start`` with
  ``business_minutes_between(h, start, t) >= m``: zero minutes give ``start`` itself (even when
  closed); a positive amount always ends inside or at the end of an open interval.
* A calendar that is never open again raises :class:`NeverOpenError` from
  ``add_business_minutes``; ``next_opening`` returns ``None`` instead.
* Precision is one microsecond; minutes may be fractional.
* Zone assumption (true of every real zone): a zone's UTC offset does not change twice within
  eight days. Used for the day and week skipping; no assumption at all for fixed-offset zones.

Speed: each local date's open intervals are computed once per ``BusinessHours`` object and cached;
runs of ordinary weeks (no special dates, constant UTC offset) are skipped in O(1) per week, so adding
60 business days costs well under a millisecond.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = [
    "ALWAYS_OPEN",
    "BusinessHours",
    "NeverOpenError",
    "Shifts",
    "add_business_minutes",
    "business_minutes_between",
    "is_open",
    "next_opening",
]

Shifts = tuple[tuple[int, int], ...]

MINUTES_PER_DAY = 1440
_US_PER_MIN = 60_000_000
_US_PER_SEC = 1_000_000
_DAY_US = 86_400 * _US_PER_SEC
_WEEK_US = 7 * _DAY_US
_MARGIN_US = 15 * 3600 * _US_PER_SEC  # every UTC offset ever used lies within ±15 h
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CACHE_LIMIT = 50_000


class NeverOpenError(ValueError):
    """The calendar has no open time from the given instant on, so no due time exists."""


def _normalise_shifts(shifts, where: str) -> Shifts:
    """Sorted, with overlapping or touching shifts merged (their union is what is open)."""
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in shifts):
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise ValueError(f"{where}: shift {start}-{end} must satisfy 0 <= start < end <= 1440")
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


@dataclass(frozen=True)
class BusinessHours:
    tz: str
    weekly: tuple[Shifts, ...]  # 7 entries, Monday first; shifts are normalised (sorted, merged)
    holidays: frozenset[date] = frozenset()
    workdays: Mapping[date, Shifts] = field(default_factory=dict, hash=False)
    # Derived in __post_init__: not __init__ arguments, not compared, not hashed, not shown.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _special: list[int] = field(init=False, repr=False, compare=False)
    _open_specials: list[int] = field(init=False, repr=False, compare=False)
    _week_us: int = field(init=False, repr=False, compare=False)
    _days: dict[int, tuple[tuple[tuple[int, int], ...], int, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.tz)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        if len(self.weekly) != 7:
            raise ValueError("weekly must have 7 entries, Monday first")
        weekly = tuple(_normalise_shifts(day, f"weekday {i}") for i, day in enumerate(self.weekly))
        workdays = {d: _normalise_shifts(s, f"date {d}") for d, s in dict(self.workdays).items()}
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", MappingProxyType(workdays))
        special = sorted(set(self.holidays) | set(workdays))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_special", [d.toordinal() for d in special])
        object.__setattr__(self, "_open_specials", sorted(d.toordinal() for d, s in workdays.items() if s))
        object.__setattr__(self, "_week_us", sum((e - s) * _US_PER_MIN for day in weekly for s, e in day))
        object.__setattr__(self, "_days", {})

    # -- per-date data -------------------------------------------------------------------------

    def shifts_on(self, day: date) -> Shifts:
        """The wall-clock shifts of one local date."""
        if day in self.workdays:
            return self.workdays[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def _day(self, ordinal: int) -> tuple[tuple[tuple[int, int], ...], int, int | None]:
        """(open intervals as UTC microseconds, their total, UTC offset at the day's start or None
        when the offset changes around that date) for one local date, cached."""
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        if len(self._days) > _CACHE_LIMIT:
            self._days.clear()
        shifts = self.shifts_on(date.fromordinal(ordinal))
        w0 = (ordinal - _EPOCH_ORDINAL) * _DAY_US
        w1 = w0 + _DAY_US
        a, b = w0 - _MARGIN_US, w1 + _MARGIN_US
        oa, ob = _offset(self._zone, a), _offset(self._zone, b)
        pieces: tuple[tuple[int, int, int], ...]
        if oa == ob:
            pieces = ((a, b, oa),)
            stable = oa
        else:
            t = _transition(self._zone, a, b, oa)
            pieces = ((a, t, oa), (t, b, ob))
            stable = None
        intervals = []
        for ps, pe, off in pieces:
            for s, e in shifts:
                lo = max(ps, w0 + s * _US_PER_MIN - off)
                hi = min(pe, w0 + e * _US_PER_MIN - off)
                if lo < hi:
                    intervals.append((lo, hi))
        intervals.sort()
        result = (tuple(intervals), sum(hi - lo for lo, hi in intervals), stable)
        self._days[ordinal] = result
        return result

    def _day_start(self, ordinal: int, offset: int) -> int:
        return (ordinal - _EPOCH_ORDINAL) * _DAY_US - offset

    def _local_ordinal(self, us: int) -> int:
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self._zone).date().toordinal()

    def _next_special(self, ordinal: int) -> int | None:
        i = bisect_left(self._special, ordinal)
        return self._special[i] if i < len(self._special) else None

    def _never_open_after(self, ordinal: int) -> bool:
        """True when no date >= ordinal has any shift (so iterating further is pointless)."""
        if self._week_us:
            return False
        return bisect_left(self._open_specials, ordinal) == len(self._open_specials)

    def _skip_closed(self, ordinal: int) -> int:
        """With no weekly hours at all, jump straight to the next special open date."""
        if self._week_us:
            return ordinal
        i = bisect_left(self._open_specials, ordinal)
        return self._open_specials[i] if i < len(self._open_specials) else ordinal

    def _whole_weeks(self, ordinal: int, floor_us: int, max_weeks: int) -> tuple[int, int]:
        """How many (<= max_weeks) whole ordinary weeks starting at local date `ordinal` can be
        consumed at once, and the zone's offset during them.

        A week is ordinary when it has no special date and the zone's offset is the same at its
        start and at its end (see the eight-day assumption). The first week must start at or after
        `floor_us`."""
        if not self._week_us or max_weeks <= 0:
            return 0, 0
        _, _, offset = self._day(ordinal)
        if offset is None or self._day_start(ordinal, offset) < floor_us:
            return 0, 0
        limit = max_weeks
        special = self._next_special(ordinal)
        if special is not None:
            limit = min(limit, (special - ordinal) // 7)
        weeks = 0
        while weeks < limit:
            end = ordinal + 7 * (weeks + 1)
            if _offset(self._zone, self._day_start(end, offset) + _MARGIN_US) != offset:
                break
            weeks += 1
        return weeks, offset


def _offset(zone: ZoneInfo, us: int) -> int:
    """UTC offset (microseconds) of `zone` at the UTC instant `us`."""
    return _offset_cached(zone, us // _US_PER_SEC)


@lru_cache(maxsize=65_536)
def _offset_cached(zone: ZoneInfo, second: int) -> int:
    moment = _EPOCH + timedelta(seconds=second)
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # an aware datetime always has one
    return offset // timedelta(microseconds=1)


def _transition(zone: ZoneInfo, lo: int, hi: int, offset_lo: int) -> int:
    """First whole-second instant in (lo, hi] whose offset differs from offset_lo (binary search)."""
    lo_s, hi_s = lo // _US_PER_SEC, hi // _US_PER_SEC
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset_cached(zone, mid) == offset_lo:
            lo_s = mid
        else:
            hi_s = mid
    return hi_s * _US_PER_SEC


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business-hours arithmetic needs timezone-aware datetimes")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _minutes_to_us(minutes: float) -> int:
    if isinstance(minutes, bool) or not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"business minutes must be a finite number >= 0, got {minutes!r}")
    if isinstance(minutes, int):
        return minutes * _US_PER_MIN
    return round(minutes * _US_PER_MIN)


def _intervals_from(hours: BusinessHours, start_us: int) -> Iterator[tuple[int, int]]:
    """Open intervals ending after start_us, in time order (clipped to start at >= start_us);
    stops when the calendar is never open again."""
    ordinal = hours._local_ordinal(start_us) - 1  # the previous date may still own later instants
    while True:
        if hours._never_open_after(ordinal):
            return
        ordinal = hours._skip_closed(ordinal)
        intervals, _, _ = hours._day(ordinal)
        for lo, hi in intervals:
            if hi > start_us:
                yield max(lo, start_us), hi
        ordinal += 1


# -- the contract ------------------------------------------------------------------------------


def add_business_minutes(hours: BusinessHours, start: datetime, minutes: float) -> datetime:
    """The instant `minutes` of business time after `start` (aware in, aware UTC out).

    Raises NeverOpenError when the calendar never accumulates that much open time."""
    t = _to_us(start)
    need = _minutes_to_us(minutes)
    if need == 0:
        return _from_us(t)
    ordinal = hours._local_ordinal(t) - 1
    while True:
        if hours._never_open_after(ordinal):
            raise NeverOpenError("the business calendar has no open hours after " + _from_us(t).isoformat())
        ordinal = hours._skip_closed(ordinal)
        weeks, offset = hours._whole_weeks(ordinal, t, (need - 1) // hours._week_us if hours._week_us else 0)
        if weeks:
            need -= weeks * hours._week_us
            ordinal += 7 * weeks
            t = hours._day_start(ordinal, offset)
            continue
        intervals, total, _ = hours._day(ordinal)
        if total and intervals[0][0] >= t and total < need:
            need -= total
            t = intervals[-1][1]
        else:
            for lo, hi in intervals:
                if hi <= t:
                    continue
                lo = max(lo, t)
                if hi - lo >= need:
                    return _from_us(lo + need)
                need -= hi - lo
                t = hi
        ordinal += 1


def business_minutes_between(hours: BusinessHours, start: datetime, end: datetime) -> float:
    """Open minutes in [start, end); 0 if end <= start."""
    t, stop = _to_us(start), _to_us(end)
    if stop <= t:
        return 0.0
    total_us = 0
    ordinal = hours._local_ordinal(t) - 1
    last = hours._local_ordinal(stop) + 1
    while ordinal <= last:
        if hours._never_open_after(ordinal):
            break
        ordinal = hours._skip_closed(ordinal)
        if ordinal > last:
            break
        # Whole ordinary weeks that lie inside [t, stop) count as a whole.
        weeks, offset = hours._whole_weeks(ordinal, t, (stop - t) // _WEEK_US)
        if weeks:
            weeks = min(weeks, (stop - hours._day_start(ordinal, offset)) // _WEEK_US)
        if weeks > 0:
            total_us += weeks * hours._week_us
            ordinal += 7 * weeks
            t = hours._day_start(ordinal, offset)
            continue
        intervals, _, _ = hours._day(ordinal)
        for lo, hi in intervals:
            lo, hi = max(lo, t), min(hi, stop)
            if lo < hi:
                total_us += hi - lo
        ordinal += 1
    return total_us / _US_PER_MIN


def is_open(hours: BusinessHours, at: datetime) -> bool:
    """Whether `at` falls inside a shift of its local date."""
    _to_us(at)
    local = at.astimezone(hours._zone)
    minute = local.hour * 60 + local.minute + (local.second * _US_PER_SEC + local.microsecond) / _US_PER_MIN
    return any(s <= minute < e for s, e in hours.shifts_on(local.date()))


def next_opening(hours: BusinessHours, at: datetime) -> datetime | None:
    """`at` itself when open, else the next instant the calendar opens; None if it never does."""
    t = _to_us(at)
    for lo, _hi in _intervals_from(hours, t):
        return _from_us(lo)
    return None


ALWAYS_OPEN = BusinessHours(tz="UTC", weekly=(((0, MINUTES_PER_DAY),),) * 7)
