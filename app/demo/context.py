"""The state shared by the seeding steps, its deterministic random helpers, and bulk inserts."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhPerson
from piccolo.table import Table

from app.demo import data

CHUNK = 500
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# The 120 commonest surnames with their frequencies; Faker's full list has many rare ones.
_SURNAMES = sorted(ZhPerson.last_names.items(), key=lambda kv: -kv[1])[:120]


async def insert_rows(table: type[Table], rows: list[dict]) -> list[int]:
    """Insert `rows` in chunks; returns the new ids in the order of `rows`.

    Keys starting with "_" are bookkeeping for later steps and are not stored.
    """
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = [
            table(**{k: v for k, v in row.items() if not k.startswith("_")}) for row in rows[start : start + CHUNK]
        ]
        result = await table.insert(*chunk).returning(table._meta.primary_key)
        # Ids grow in insertion order; RETURNING does not promise to list them that way.
        ids += sorted(r[table._meta.primary_key._meta.name] for r in result)
    return ids


@dataclass
class Ctx:
    seed: int
    now: datetime
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)
    campuses: dict[str, int] = field(default_factory=dict)  # code -> id
    users: list[dict] = field(default_factory=list)  # id, username, display_name, role, campus
    courses: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    leads: list[dict] = field(default_factory=list)
    students: list[dict] = field(default_factory=list)
    enrolled: dict[int, list[dict]] = field(default_factory=dict)  # student id -> groups

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(self.seed)

    def count(self, table: type[Table], n: int) -> None:
        name = table._meta.tablename
        self.counts[name] = self.counts.get(name, 0) + n

    # -- choices ---------------------------------------------------------------------------

    def weighted(self, weights: Mapping[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def staff(self, role: str, campus: str | None = None) -> list[dict]:
        return [u for u in self.users if u["role"] == role and (campus is None or u["campus"] == campus)]

    def user(self, username: str) -> dict:
        return next(u for u in self.users if u["username"] == username)

    # -- people ----------------------------------------------------------------------------

    def surname(self) -> str:
        names, weights = zip(*_SURNAMES)
        return self.rng.choices(names, weights=weights)[0]

    def kid(self) -> tuple[str, str]:
        """A child's (name, gender)."""
        gender = self.rng.choice(["男", "女"])
        return self.surname() + self.rng.choice(data.KID_GIVEN[gender]), gender

    def guardian(self, child_name: str, polite: float = 0.0) -> str:
        """A parent: the father shares the child's surname; sometimes only 'X女士' is known."""
        if self.rng.random() < 0.55:
            surname, given, title = child_name[0], self.rng.choice(ZhPerson.first_names_male), "先生"
        else:
            surname, given, title = self.surname(), self.rng.choice(ZhPerson.first_names_female), "女士"
        return surname + title if self.rng.random() < polite else surname + given

    def phone(self) -> str:
        return self.rng.choice(data.PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def grade(self) -> str:
        return self.rng.choices(data.GRADES, weights=data.GRADE_WEIGHTS)[0]

    def birth_date(self, grade: str) -> date:
        """A birthday that fits `grade` in the current school year (which starts in September)."""
        today = self.today()
        school_year = today.year if today.month >= 9 else today.year - 1
        start = date(school_year - 7 - data.GRADES.index(grade), 9, 1)
        return start + timedelta(days=self.rng.randrange(365))

    # -- time ------------------------------------------------------------------------------

    def today(self) -> date:
        return self.now.astimezone(LOCAL_TZ).date()

    def moment(self, max_days_ago: float, min_days_ago: float = 0) -> datetime:
        """A UTC instant during opening hours (08:00–21:59 Beijing time) in the given window."""
        day = self.today() - timedelta(days=self.rng.randint(int(min_days_ago), int(max_days_ago)))
        hour = self.rng.choices(range(8, 22), weights=[2, 4, 5, 4, 3, 4, 5, 5, 6, 7, 8, 8, 6, 3])[0]
        local = datetime(
            day.year, day.month, day.day, hour, self.rng.randrange(60), self.rng.randrange(60), tzinfo=LOCAL_TZ
        )
        at = local.astimezone(UTC)
        # Never in the future, and no extra draw: the same seed gives the same rows at any hour.
        return at if at <= self.now else at - timedelta(days=1)

    def later(self, start: datetime, max_days: float) -> datetime:
        """An instant after `start`, at most `max_days` later and never in the future."""
        span = min(max_days * 86400, (self.now - start).total_seconds())
        return start + timedelta(seconds=int(self.rng.random() * max(span, 0)))
