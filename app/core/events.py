"""Domain events: small facts published to Redis after the transaction that caused them commits.

Every web process subscribes to the same channel (app/realtime/hub.py) and pushes what each of
its WebSocket connections may see; the worker publishes through the same function.

Every event names its `Audience`: who may receive it. The hub sends an event only to the
connections whose user is in it (app/realtime/audience.py), and the renderer's own permission
check stays the last gate for record-level detail.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.jobs import dispatch

EVENT_VERSION = 1


@dataclass(frozen=True)
class Audience:
    """Who may receive an event: the union of its parts; an empty audience reaches nobody.

    Small and serialisable (it travels through Redis as JSON). The parts a connection can check
    by itself (its user's id, role, campus, team and the teams it leads) are matched per
    connection without a query; `owners` and `records` are first turned into those parts once
    per event in each web process (app/realtime/audience.py).
    """

    everyone: bool = False  # every connection: facts public to all staff
    users: tuple[int, ...] = ()
    # Members of these teams, and the leaders of them and of every team above (a team's queue).
    teams: tuple[int, ...] = ()
    # Only the leaders of these teams and of every team above: who sees their members' records.
    leaders: tuple[int, ...] = ()
    campuses: tuple[int, ...] = ()  # everyone whose campus is one of these
    # "role" (anywhere) or "role@<campus id>" (at that campus; admins and staff without a campus
    # count for every campus, as they see every campus).
    roles: tuple[str, ...] = ()
    # The people who may see records owned by these users: them, their leaders, admins.
    owners: tuple[int, ...] = ()
    # The people who may see these records, e.g. ("ticket", 7); kinds are registered with
    # `record_audience` by the domain that owns the record.
    records: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        # Normalised so that equal audiences compare equal after a trip through JSON.
        for name in ("users", "teams", "leaders", "campuses", "owners"):
            values = getattr(self, name)
            object.__setattr__(self, name, tuple(sorted({int(v) for v in values if v is not None})))
        object.__setattr__(self, "roles", tuple(sorted(set(self.roles))))
        object.__setattr__(self, "records", tuple(sorted({(str(k), int(i)) for k, i in self.records if i is not None})))

    @classmethod
    def user(cls, *user_ids: int | None) -> Audience:
        return cls(users=tuple(u for u in user_ids if u is not None))

    @classmethod
    def record(cls, kind: str, *ids: int | None) -> Audience:
        return cls(records=tuple((kind, i) for i in ids if i is not None))

    @classmethod
    def roles_at(cls, roles: tuple[str, ...] | list[str], campus: int | None = None) -> Audience:
        """These roles at one campus (anywhere when campus is None)."""
        return cls(roles=tuple(r if campus is None else f"{r}@{campus}" for r in roles))

    def __or__(self, other: Audience) -> Audience:
        return Audience(
            everyone=self.everyone or other.everyone,
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in ("users", "teams", "leaders", "campuses", "roles", "owners", "records")
            },
        )

    @property
    def is_concrete(self) -> bool:
        return not self.owners and not self.records

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"everyone": True} if self.everyone else {}
        for name in ("users", "teams", "leaders", "campuses", "roles", "owners"):
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        if self.records:
            data["records"] = [list(r) for r in self.records]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(
            everyone=bool(data.get("everyone")),
            **{
                name: tuple(data.get(name) or ())
                for name in ("users", "teams", "leaders", "campuses", "roles", "owners")
            },
            records=tuple((r[0], r[1]) for r in data.get("records") or ()),
        )


EVERYONE = Audience(everyone=True)
ADMINS = Audience(roles=("admin",))  # facts about settings only administrators edit
NOBODY = Audience()

# kind -> async (ids) -> Audience made of the parts a connection checks by itself.
RecordAudience = Callable[[list[int]], Awaitable[Audience]]
_record_audiences: dict[str, RecordAudience] = {}


def record_audience(kind: str) -> Callable[[RecordAudience], RecordAudience]:
    """Register who may see records of `kind` (the domain's visibility rule, as an audience)."""

    def register(resolver: RecordAudience) -> RecordAudience:
        _record_audiences[kind] = resolver
        return resolver

    return register


def record_audience_of(kind: str) -> RecordAudience | None:
    return _record_audiences.get(kind)


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    # Who may receive it. Every event the application emits names one (a unit test checks);
    # None is read only from events queued before audiences existed and means every connection,
    # each decided by the event's renderer as before. A list of user ids is still accepted.
    audience: Audience | None = None
    version: int = EVENT_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.audience, (list, tuple)):
            object.__setattr__(self, "audience", Audience(users=tuple(self.audience)))

    def to_json(self) -> str:
        data = {
            "name": self.name,
            "payload": self.payload,
            "audience": None if self.audience is None else self.audience.to_dict(),
            "version": self.version,
        }
        return json.dumps(data, ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, raw: str) -> Event:
        data = json.loads(raw)
        audience = data.get("audience")
        return cls(
            name=data["name"],
            payload=data.get("payload") or {},
            # A list is the older form (explicit user ids), None older still (everyone).
            audience=Audience.from_dict(audience) if isinstance(audience, dict) else audience,
            version=data.get("version", EVENT_VERSION),
        )


async def publish(*events: Event) -> None:
    """Publish already-committed facts; a Redis failure is logged, never raised.

    The database row is the source of truth, so a lost live update only costs freshness:
    clients re-render their regions when they reconnect. One pipeline, as after a commit.
    """
    await dispatch(events, [])
