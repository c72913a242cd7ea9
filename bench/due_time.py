"""Due-time computation: add_business_minutes on the seeded school calendar.

The calendar is the one `python -m app migrate` seeds (Mon–Sat 08:30–12:00 and 13:00–20:30,
Asia/Shanghai, the 2026 public holidays and 调休 days), loaded through hours_for_campus() as the
SLA code does. Starts are uniform over 2026 (nights, Sundays and holidays included); targets are
business durations from 30 minutes to 5 business days (of 24 h). Measured per call:
  warm:  one BusinessHours object, as in a running process (its per-date cache filled)
  cold:  a fresh BusinessHours object for every call (nothing cached)
  between: business_minutes_between over the same pairs (warm)
python bench/due_time.py [--backend sqlite|postgres] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from common import environment, machine

TARGET_MINUTES = [30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 7200]


def figures(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50": round(q[49], 4),
        "p95": round(q[94], 4),
        "p99": round(q[98], 4),
        "max": round(ordered[-1], 4),
    }


def measure(hours, rounds: int) -> dict:
    from app.calendars.hours import BusinessHours, add_business_minutes, business_minutes_between

    rng = random.Random(4)
    year = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [
        (year + timedelta(seconds=rng.randrange(365 * 86400)), rng.choice(TARGET_MINUTES) * rng.uniform(0.5, 1))
        for _ in range(rounds)
    ]
    warm, cold, between, dues = [], [], [], []
    for start, minutes in cases:
        began = time.perf_counter()
        due = add_business_minutes(hours, start, minutes)
        warm.append((time.perf_counter() - began) * 1000)
        dues.append(due)
    for start, minutes in cases[: max(1, rounds // 10)]:
        fresh = BusinessHours(tz=hours.tz, weekly=hours.weekly, holidays=hours.holidays, workdays=hours.workdays)
        began = time.perf_counter()
        add_business_minutes(fresh, start, minutes)
        cold.append((time.perf_counter() - began) * 1000)
    for (start, minutes), due in zip(cases, dues):
        began = time.perf_counter()
        got = business_minutes_between(hours, start, due)
        between.append((time.perf_counter() - began) * 1000)
        assert abs(got - minutes) < 1e-6, (start, minutes, due, got)  # the two functions agree
    long_start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    sixty_days = []
    for _ in range(200):
        began = time.perf_counter()
        add_business_minutes(hours, long_start, 60 * 660)  # 60 business days of 11 h
        sixty_days.append((time.perf_counter() - began) * 1000)
    return {
        "add_warm": figures(warm),
        "add_cold": figures(cold),
        "between_warm": figures(between),
        "add_60_business_days": figures(sixty_days),
    }


async def load_hours():
    from app.calendars.services import hours_for_campus

    return await hours_for_campus(None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    with environment(args.backend):
        from app.wiring import wire

        wire()
        hours = asyncio.run(load_hours())
        assert hours.holidays, "the seeded calendar has its holidays"
        result = measure(hours, args.rounds)
    print(
        json.dumps(
            {
                "benchmark": "due_time",
                "backend": args.backend,
                "machine": machine(),
                "calendar": {"tz": hours.tz, "holidays": len(hours.holidays), "workdays": len(hours.workdays)},
                "latency_ms": result,
                "target": "p95 < 5 ms",
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
