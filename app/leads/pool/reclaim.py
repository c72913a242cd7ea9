"""Reclaim (回收): private leads return to the pool by the admin's rules, after a day's notice.

A lead's countdown starts when its owner got it (the last audit entry that changed its owner,
else its creation) or at its last follow-up, whichever is later, for "no follow-up in N days";
and when the owner got it for "not signed in M days". The earlier rule decides.

The owner always has one day: a lead whose due time is within a day gets a notice, recorded as a
unique LeadPoolNotice row (lead, owner, rule, basis) inserted with ON CONFLICT DO NOTHING, so only
the run whose insert won tells the owner. It returns to the pool once the due time has come and
the notice is a day old (with two hours' slack for a daily job that starts a little early). The
return itself is a conditional UPDATE on the same owner, so a second worker finds nothing to do.
A follow-up moves the basis: the old notice no longer applies and a new countdown begins.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from piccolo.query.functions.aggregate import Max

from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.i18n import N_
from app.core.templates import _localtime
from app.leads.pool import distribution as pool_distribution
from app.leads.pool import services as pool
from app.leads.pool import settings as pool_settings
from app.leads.texts import school_text
from app.notifications.services import notify
from tables.audit.tables import AuditEntry
from tables.follow_ups.tables import FollowUp, LeadPoolNotice
from tables.leads.tables import Lead

NOTICE_AHEAD = timedelta(days=1)
SLACK = timedelta(hours=2)
BATCH = 500
REASONS = {"no_follow_up": N_("No follow-up for %(days)s days"), "not_converted": N_("Not signed within %(days)s days")}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(value: datetime) -> str:
    return _utc(value).isoformat(timespec="seconds")


async def owned_since(leads: list[dict]) -> dict[int, datetime]:
    """When each lead's current owner got it: its last audit entry that changed the owner."""
    since = {lead["id"]: _utc(lead["created_at"]) for lead in leads}
    entries = (
        await AuditEntry.select(AuditEntry.entity_id, AuditEntry.at, AuditEntry.changes)
        .where((AuditEntry.entity_type == "lead") & AuditEntry.entity_id.is_in(list(since)))
        .output(load_json=True)
    )
    for entry in entries:
        if "owner" in (entry["changes"] or {}):
            since[entry["entity_id"]] = max(since[entry["entity_id"]], _utc(entry["at"]))
    return since


async def last_follow_ups(ids: list[int]) -> dict[int, datetime]:
    rows = (
        await FollowUp.select(FollowUp.lead, Max(FollowUp.created_at).as_alias("last"))
        .where(FollowUp.lead.is_in(ids))
        .group_by(FollowUp.lead)
    )
    return {
        r["lead"]: _utc(r["last"] if isinstance(r["last"], datetime) else datetime.fromisoformat(r["last"]))
        for r in rows
        if r["last"]
    }


def countdown(settings: pool_settings.PoolSettings, since: datetime, last: datetime | None):
    """(rule, basis, due) of the rule that returns the lead first; None when no rule is on."""
    options = []
    if settings.no_follow_up_days:
        basis = max(since, last) if last else since
        options.append(("no_follow_up", basis, basis + timedelta(days=settings.no_follow_up_days)))
    if settings.not_converted_days:
        options.append(("not_converted", since, since + timedelta(days=settings.not_converted_days)))
    return min(options, key=lambda o: o[2]) if options else None


class Reclaimer:
    def __init__(self, settings: pool_settings.PoolSettings, clock: Clock) -> None:
        self.settings, self.clock, self.now = settings, clock, clock.now()
        self.counts: Counter = Counter()
        self.returned: dict[int, int] = {}

    def _days(self, rule: str) -> int:
        return self.settings.no_follow_up_days if rule == "no_follow_up" else self.settings.not_converted_days

    async def run_batch(self, leads: list[dict]) -> None:
        ids = [lead["id"] for lead in leads]
        since, last = await owned_since(leads), await last_follow_ups(ids)
        notices = {
            (n["lead"], n["owner"], n["rule"], n["basis"]): n
            for n in await LeadPoolNotice.select().where(LeadPoolNotice.lead.is_in(ids))
        }
        for lead in leads:
            plan = countdown(self.settings, since[lead["id"]], last.get(lead["id"]))
            if plan is None or self.now < plan[2] - NOTICE_AHEAD:
                continue
            rule, basis, due = plan
            notice = notices.get((lead["id"], lead["owner"], rule, _key(basis)))
            if notice is None:
                await self._notice(lead, rule, basis, due)
            elif self.now + SLACK >= max(due, _utc(notice["created_at"]) + NOTICE_AHEAD):
                await self._reclaim(lead, rule, basis)

    async def _notice(self, lead: dict, rule: str, basis: datetime, due: datetime) -> None:
        due = max(due, self.now + NOTICE_AHEAD)
        async with UnitOfWork() as uow:
            won = (
                await LeadPoolNotice.insert(
                    LeadPoolNotice(
                        lead=lead["id"],
                        owner=lead["owner"],
                        rule=rule,
                        basis=_key(basis),
                        due_at=due,
                        created_at=self.now,
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(LeadPoolNotice.id)
            )
            if not won:
                return
            reason = school_text(REASONS[rule], days=self._days(rule))
            keep = N_("Record a follow-up to keep it.") if rule == "no_follow_up" else N_("Sign it to keep it.")
            await notify(
                uow,
                [lead["owner"]],
                kind="lead_reclaim_notice",
                link=f"/leads/{lead['id']}",
                title=school_text(
                    N_("“%(name)s” returns to the public pool on %(when)s"),
                    name=lead["student_name"],
                    when=_localtime(due),
                ),
                body=f"{reason}. {school_text(keep)}",
            )
        self.counts["notice"] += 1

    async def _reclaim(self, lead: dict, rule: str, basis: datetime) -> None:
        async with UnitOfWork() as uow:
            if rule == "no_follow_up":  # a follow-up recorded since this run read the lead keeps it
                latest = (await last_follow_ups([lead["id"]])).get(lead["id"])
                if latest and latest > basis:
                    return
            moved = await pool.record_move(
                uow,
                lead["id"],
                action="reclaim",
                old_owner=lead["owner"],
                new_owner=None,
                actor_id=None,
                clock=self.clock,
                reason=rule,
            )
            if not moved:
                return
            await notify(
                uow,
                [lead["owner"]],
                kind="lead_reclaimed",
                link=f"/leads/{lead['id']}",
                title=school_text(N_("“%(name)s” returned to the public pool"), name=lead["student_name"]),
                body=school_text(REASONS[rule], days=self._days(rule)),
                dedupe_prefix=f"lead_reclaimed:{lead['id']}:{_key(basis)}",
            )
        self.returned[lead["id"]] = lead["owner"]
        self.counts["reclaim"] += 1


async def reclaim_leads(clock: Clock = system_clock) -> Counter:
    """The daily pass: notices for leads due within a day, returns for leads due and noticed, then
    distribution of the returned leads. Safe to run twice or on two workers at once."""
    settings = await pool_settings.load()
    if not settings.reclaims:
        return Counter()
    worker = Reclaimer(settings, clock)
    shortest = min(d for d in (settings.no_follow_up_days, settings.not_converted_days) if d)
    # Nobody's countdown starts before the lead exists: younger leads cannot be due yet.
    born_before = worker.now + NOTICE_AHEAD - timedelta(days=shortest)
    after = 0
    while True:
        leads = (
            await Lead.select(Lead.id, Lead.owner, Lead.student_name, Lead.created_at)
            .where(
                Lead.owner.is_not_null()
                & Lead.deleted_at.is_null()
                & (Lead.status != "won")
                & (Lead.created_at <= born_before)
                & (Lead.id > after)
            )
            .order_by(Lead.id)
            .limit(BATCH)
        )
        if not leads:
            break
        after = leads[-1]["id"]
        await worker.run_batch(leads)
    if worker.returned:
        moved = await pool_distribution.distribute_leads(list(worker.returned), worker.returned, clock=clock)
        worker.counts["distribute"] += len(moved)
    return worker.counts
