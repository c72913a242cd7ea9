"""Distribution of new and returned pool leads by the admin's ordered rules.

The first active rule that matches the lead and has someone eligible wins: the target person, or
among a team's (or every) advisor the least loaded or the next in turn. People at their claim limit
and the person the lead just came back from are skipped. No rule fits: the lead stays in the pool.
"""

from __future__ import annotations

import re
from collections import Counter

from piccolo.query.functions.aggregate import Count

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.i18n import N_
from app.leads.pool import services as pool
from app.leads.pool import settings as pool_settings
from app.leads.texts import school_text
from app.notifications.services import notify
from tables.accounts.tables import User
from tables.follow_ups.tables import LeadDistributionRule, LeadPoolSetting
from tables.leads.tables import Lead

HOLDER_ROLES = ("advisor", "supervisor")
BATCH = 500
_SUFFIX = re.compile(r"(市|区|县|省)$")


def place(value: str) -> str:
    """ "北京市" and "北京", "海淀区" and "海淀 " are the same place for a rule."""
    value = re.sub(r"\s+", "", value or "").lower()
    return _SUFFIX.sub("", value) if len(value) > 2 else value


def interests(lead: dict) -> set[str]:
    """The lead's course interests, whichever shape the leads table gives them (list or text)."""
    raw = lead.get("course_interests") or lead.get("interests") or []
    if isinstance(raw, str):
        raw = re.split(r"[,，;；、\s]+", raw)
    return {str(v).strip().lower() for v in raw if str(v).strip()}


def matches(rule: dict, lead: dict) -> bool:
    if rule["match"] == "region":
        if rule["city"] and place(rule["city"]) != place(lead.get("city") or ""):
            return False
        return not rule["district"] or place(rule["district"]) == place(lead.get("district") or "")
    if rule["match"] == "course":
        return rule["course"].strip().lower() in interests(lead)
    return True


class Distributor:
    """One pass: the rules, the people and their loads are read once and kept current in memory."""

    def __init__(self, settings: pool_settings.PoolSettings, rules: list[dict], clock: Clock) -> None:
        self.settings, self.rules, self.clock = settings, rules, clock
        self.people: dict[int, dict] = {}
        self.load: Counter = Counter()
        self.assigned: list[tuple[int, int, int]] = []  # (lead, owner, rule)

    async def prepare(self) -> None:
        people = await User.select(User.id, User.role, User.team).where(
            User.is_active.eq(True) & User.role.is_in(["admin", *pool_settings.LIMITED_ROLES])
        )
        self.people = {p["id"]: p for p in people}
        rows = (
            await Lead.select(Lead.owner, Count(Lead.id).as_alias("n"))
            .where(Lead.owner.is_not_null() & Lead.deleted_at.is_null() & Lead.status.not_in(list(pool.COUNTED)))
            .group_by(Lead.owner)
        )
        self.load = Counter({r["owner"]: r["n"] for r in rows})

    def _candidates(self, rule: dict, exclude: int | None) -> list[int]:
        if rule["target_user"] is not None:
            ids = [rule["target_user"]] if rule["target_user"] in self.people else []
        elif rule["target_team"] is not None:
            ids = [
                p["id"] for p in self.people.values() if p["team"] == rule["target_team"] and p["role"] in HOLDER_ROLES
            ]
        else:
            ids = [p["id"] for p in self.people.values() if p["role"] == "advisor"]
        out = []
        for uid in sorted(ids):
            limit = self.settings.limit_for(self.people[uid]["role"])
            if uid != exclude and limit != 0 and (limit is None or self.load[uid] < limit):
                out.append(uid)
        return out

    def choose(self, lead: dict, exclude: int | None) -> tuple[int, dict] | None:
        for rule in self.rules:
            if not matches(rule, lead):
                continue
            candidates = self._candidates(rule, exclude)
            if not candidates:
                continue
            if rule["method"] == "round_robin" and rule["target_user"] is None:
                later = [uid for uid in candidates if uid > rule["last_user"]]
                return (later or candidates)[0], rule
            return min(candidates, key=lambda uid: (self.load[uid], uid)), rule
        return None

    async def distribute(self, lead: dict, exclude: int | None) -> int | None:
        chosen = self.choose(lead, exclude)
        if chosen is None:
            return None
        owner, rule = chosen
        async with UnitOfWork() as uow:
            moved = await pool.record_move(
                uow,
                lead["id"],
                action="distribute",
                old_owner=None,
                new_owner=owner,
                actor_id=None,
                clock=self.clock,
                reason=f"rule:{rule['id']}",
            )
            if not moved:
                return None
            if rule["method"] == "round_robin":
                await LeadDistributionRule.update({LeadDistributionRule.last_user: owner}).where(
                    LeadDistributionRule.id == rule["id"]
                )
            await notify(
                uow,
                [owner],
                kind="lead_assigned",
                link=f"/leads/{lead['id']}",
                title=school_text(N_("A lead was assigned to you: %(name)s"), name=lead["student_name"]),
                body=school_text(N_("Distributed from the public pool. Please contact the family soon.")),
                dedupe_prefix=f"lead_assigned:{lead['id']}:{lead['version']}",
            )
        rule["last_user"] = owner
        self.load[owner] += 1
        self.assigned.append((lead["id"], owner, rule["id"]))
        return owner


async def distributor(clock: Clock = system_clock) -> Distributor | None:
    rules = await pool_settings.rules(active_only=True)
    if not rules:
        return None
    worker = Distributor(await pool_settings.load(), rules, clock)
    await worker.prepare()
    return worker


async def _pool_leads(ids: list[int]) -> list[dict]:
    # Every column: rules may read fields the leads table grows (course interests).
    return (
        await Lead.select()
        .where(Lead.id.is_in(ids) & Lead.owner.is_null() & Lead.deleted_at.is_null())
        .order_by(Lead.id)
        .output(load_json=True)
    )


async def distribute_leads(
    ids: list[int], returned_from: dict[int, int] | None = None, clock: Clock = system_clock
) -> list[tuple[int, int, int]]:
    """Hand these pool leads out by the rules; `returned_from` maps a lead to the person it came back
    from. Returns [(lead, owner, rule)] for the leads that moved. Safe to run twice."""
    worker = await distributor(clock)
    if worker is None or not ids:
        return []
    returned_from = returned_from or {}
    for start in range(0, len(ids), BATCH):
        for lead in await _pool_leads(sorted(set(ids))[start : start + BATCH]):
            await worker.distribute(lead, returned_from.get(lead["id"]))
    return worker.assigned


async def distribute_new(clock: Clock = system_clock) -> list[tuple[int, int, int]]:
    """The sweep: pool leads newer than the watermark (created since the last sweep) meet the rules;
    the watermark then moves past them whether or not a rule took them."""
    settings = await pool_settings.load()
    worker = await distributor(clock)
    upto = settings.distributed_upto
    while True:
        fresh = await Lead.select().where(Lead.id > upto).order_by(Lead.id).limit(BATCH).output(load_json=True)
        if not fresh:
            break
        if worker is not None:
            for lead in fresh:
                if lead["owner"] is None and lead["deleted_at"] is None:
                    await worker.distribute(lead, None)
        upto = fresh[-1]["id"]
        await LeadPoolSetting.update({LeadPoolSetting.distributed_upto: upto}).where(
            (LeadPoolSetting.key == pool_settings.KEY) & (LeadPoolSetting.distributed_upto < upto)
        )
    return worker.assigned if worker else []


async def distribute_whole_pool(actor, clock: Clock = system_clock) -> int:
    """The admin's "distribute the pool now": every lead in the pool meets the rules once."""
    pool_settings.require_admin(actor)
    ids = [r["id"] for r in await Lead.select(Lead.id).where(Lead.owner.is_null() & Lead.deleted_at.is_null())]
    return len(await distribute_leads(ids, clock=clock))
