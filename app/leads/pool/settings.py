"""The public pool's configuration: claim limits per role, reclaim rules, distribution rules. Admins only."""

from __future__ import annotations

from dataclasses import dataclass, field

from piccolo.query.functions.aggregate import Max

from app.core import audit
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import ADMINS, Event
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.leads import policy
from tables.accounts.tables import Team, User
from tables.follow_ups.tables import LeadDistributionRule, LeadPoolSetting
from tables.leads.tables import Lead

KEY = "default"
# Roles that may hold private leads, with the limit a fresh installation starts with. Admins have
# no limit; a role missing here may not claim. 0 means "may not claim", None "no limit".
LIMITED_ROLES = ("advisor", "supervisor", "customer_service")
DEFAULT_LIMITS = {"advisor": 200, "supervisor": 500, "customer_service": 0}
MAX_DAYS = 3650
MATCHES = {"region": N_("Region (city / district)"), "course": N_("Course interest"), "any": N_("Any lead")}
METHODS = {"least_load": N_("Least load"), "round_robin": N_("Round-robin")}
RULE_FIELDS = ("match", "city", "district", "course", "target_user", "target_team", "method")


@dataclass(frozen=True)
class PoolSettings:
    claim_limits: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    no_follow_up_days: int = 0
    not_converted_days: int = 0
    distributed_upto: int = 0
    version: int = 1

    def limit_for(self, role: str) -> int | None:
        """Max private leads for a role: None is no limit, 0 may not claim."""
        if role == "admin":
            return None
        return self.claim_limits.get(role, 0) if role in LIMITED_ROLES else 0

    @property
    def reclaims(self) -> bool:
        return bool(self.no_follow_up_days or self.not_converted_days)


def require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden(N_("Only administrators can change the public pool settings."))


async def load() -> PoolSettings:
    row = await LeadPoolSetting.select().where(LeadPoolSetting.key == KEY).first().output(load_json=True)
    if row is None:
        row = await _create_default()
    limits = {**DEFAULT_LIMITS, **{k: v for k, v in (row["claim_limits"] or {}).items() if k in LIMITED_ROLES}}
    return PoolSettings(
        limits, row["no_follow_up_days"], row["not_converted_days"], row["distributed_upto"], row["version"]
    )


async def _create_default() -> dict:
    # Distribution rules apply to leads that arrive after the pool is first configured, not to the
    # backlog a school brings along; the admin page can distribute the backlog on purpose.
    newest = await Lead.select(Max(Lead.id).as_alias("top")).first()
    row = LeadPoolSetting(key=KEY, claim_limits=dict(DEFAULT_LIMITS), distributed_upto=(newest or {}).get("top") or 0)
    await LeadPoolSetting.insert(row).on_conflict(action="DO NOTHING")
    return await LeadPoolSetting.select().where(LeadPoolSetting.key == KEY).first().output(load_json=True)


def _whole(values: dict, name: str, errors: list[FieldError], *, blank_is_none: bool = False) -> int | None:
    raw = values.get(name)
    raw = raw.strip() if isinstance(raw, str) else raw
    if raw in (None, ""):
        if blank_is_none:
            return None
        raw = 0
    number = parse_int(raw)
    if number is None and not (isinstance(raw, str) and raw.isdecimal()):
        errors.append(FieldError(name, N_("Enter a whole number of 0 or more.")))
        return None
    if number is None or number > (100_000 if name.startswith("limit_") else MAX_DAYS):  # None: past 64 bits
        errors.append(FieldError(name, N_("This number is too large.")))
        return None
    return number


async def save(actor: CurrentUser, values: dict, *, version: int | None = None) -> PoolSettings:
    """Save limits (`limit_<role>`, blank = no limit) and reclaim days (`no_follow_up_days`,
    `not_converted_days`, 0 = off)."""
    require_admin(actor)
    before = await load()
    errors: list[FieldError] = []
    limits = {
        role: _whole(values, f"limit_{role}", errors, blank_is_none=True)
        for role in LIMITED_ROLES
        if f"limit_{role}" in values
    }
    limits = {**before.claim_limits, **limits}
    days = {
        name: _whole(values, name, errors) if name in values else getattr(before, name)
        for name in ("no_follow_up_days", "not_converted_days")
    }
    if errors:
        raise ValidationFailed(errors)
    after = {"claim_limits": limits, **days}
    changes = {k: [getattr(before, k), v] for k, v in after.items() if getattr(before, k) != v}
    if not changes:
        return before
    async with UnitOfWork() as uow:
        where = LeadPoolSetting.key == KEY
        if version is not None:
            where &= LeadPoolSetting.version == version
        updated = (
            await LeadPoolSetting.update(
                {
                    LeadPoolSetting.claim_limits: limits,
                    LeadPoolSetting.no_follow_up_days: days["no_follow_up_days"],
                    LeadPoolSetting.not_converted_days: days["not_converted_days"],
                    LeadPoolSetting.version: LeadPoolSetting.version + 1,
                }
            )
            .where(where)
            .returning(LeadPoolSetting.id)
        )
        if not updated:
            raise Conflict(N_("Someone else changed these settings after you opened them. Reload and try again."))
        await audit.record(
            actor_id=actor.id,
            action="update",
            entity_type="lead_pool_setting",
            entity_id=updated[0]["id"],
            changes=changes,
        )
        uow.emit(Event("lead_pool.settings_changed", {"fields": sorted(changes)}, audience=ADMINS))
    return await load()


# -- distribution rules -------------------------------------------------------------------------


async def rules(active_only: bool = False) -> list[dict]:
    query = (
        LeadDistributionRule.select(
            *LeadDistributionRule.all_columns(),
            LeadDistributionRule.target_user.display_name.as_alias("user_name"),
            LeadDistributionRule.target_team.name.as_alias("team_name"),
        )
        .order_by(LeadDistributionRule.position)
        .order_by(LeadDistributionRule.id)
    )
    if active_only:
        query = query.where(LeadDistributionRule.is_active.eq(True))
    return await query


def _reference(values: dict, name: str, errors: list[FieldError]) -> int | None:
    raw = values.get(name)
    if raw in (None, ""):
        return None
    number = parse_int(raw)
    if number is None:
        errors.append(FieldError(name, N_("Choose one of the listed options.")))
    return number


async def _clean_rule(values: dict) -> dict:
    errors: list[FieldError] = []
    text = {
        k: (values.get(k) or "").strip() if isinstance(values.get(k) or "", str) else ""
        for k in ("match", "city", "district", "course", "method")
    }
    out = {
        "match": text["match"] or "any",
        "method": text["method"] or "least_load",
        "city": text["city"][:50],
        "district": text["district"][:50],
        "course": text["course"][:60],
    }
    if out["match"] not in MATCHES:
        errors.append(FieldError("match", N_("Choose one of the listed options.")))
    if out["method"] not in METHODS:
        errors.append(FieldError("method", N_("Choose one of the listed options.")))
    if out["match"] == "region" and not (out["city"] or out["district"]):
        errors.append(FieldError("city", N_("Enter a city or a district for a region rule.")))
    if out["match"] == "course" and not out["course"]:
        errors.append(FieldError("course", N_("Enter the course interest this rule is for.")))
    user = _reference(values, "target_user", errors)
    team = _reference(values, "target_team", errors)
    if user is not None and team is not None:
        errors.append(FieldError("target_user", N_("Choose a person or a team, not both.")))
    if user is not None and not await User.exists().where(
        (User.id == user) & User.is_active.eq(True) & User.role.is_in(["admin", *LIMITED_ROLES])
    ):
        errors.append(FieldError("target_user", N_("Choose an active person who works with leads.")))
    if team is not None and not await Team.exists().where(Team.id == team):
        errors.append(FieldError("target_team", N_("Unknown team.")))
    if errors:
        raise ValidationFailed(errors)
    return {**out, "target_user": user, "target_team": team}


async def add_rule(actor: CurrentUser, values: dict) -> dict:
    require_admin(actor)
    data = await _clean_rule(values)
    async with UnitOfWork() as uow:
        last = await LeadDistributionRule.select(Max(LeadDistributionRule.position).as_alias("top")).first()
        position = ((last or {}).get("top") or 0) + 1
        rows = await LeadDistributionRule.insert(LeadDistributionRule(position=position, **data)).returning(
            LeadDistributionRule.id
        )
        rule_id = rows[0]["id"]
        await audit.record(
            actor_id=actor.id,
            action="create",
            entity_type="lead_distribution_rule",
            entity_id=rule_id,
            changes=audit.snapshot(data, RULE_FIELDS),
        )
        uow.emit(Event("lead_pool.rule_added", {"id": rule_id}, audience=ADMINS))
    return {"id": rule_id, "position": position, **data}


async def _existing_rule(rule_id: int) -> dict:
    rule = await LeadDistributionRule.select().where(LeadDistributionRule.id == rule_id).first()
    if rule is None:
        raise NotFound(N_("This rule does not exist."))
    return rule


async def delete_rule(actor: CurrentUser, rule_id: int) -> None:
    require_admin(actor)
    rule = await _existing_rule(rule_id)
    async with UnitOfWork() as uow:
        await LeadDistributionRule.delete().where(LeadDistributionRule.id == rule_id)
        await audit.record(
            actor_id=actor.id,
            action="delete",
            entity_type="lead_distribution_rule",
            entity_id=rule_id,
            changes={k: [rule[k], None] for k in RULE_FIELDS},
        )
        uow.emit(Event("lead_pool.rule_deleted", {"id": rule_id}, audience=ADMINS))


async def move_rule(actor: CurrentUser, rule_id: int, direction: str) -> None:
    """Swap a rule with its neighbour ("up" or "down"); positions are renumbered 1..n."""
    require_admin(actor)
    await _existing_rule(rule_id)
    if direction not in ("up", "down"):
        raise ValidationFailed([FieldError("direction", N_("Choose one of the listed options."))])
    ordered = [r["id"] for r in await rules()]
    at = ordered.index(rule_id)
    other = at - 1 if direction == "up" else at + 1
    if not 0 <= other < len(ordered):
        return
    ordered[at], ordered[other] = ordered[other], ordered[at]
    async with UnitOfWork() as uow:
        for position, rid in enumerate(ordered, start=1):
            await LeadDistributionRule.update({LeadDistributionRule.position: position}).where(
                LeadDistributionRule.id == rid
            )
        await audit.record(
            actor_id=actor.id,
            action="move",
            entity_type="lead_distribution_rule",
            entity_id=rule_id,
            changes={"position": [at + 1, other + 1]},
        )
        uow.emit(Event("lead_pool.rules_reordered", {"ids": ordered}, audience=ADMINS))


async def people_for_rules() -> dict:
    """Choices for the rule form: active people who work with leads, and teams."""
    people = (
        await User.select(User.id, User.display_name, User.role)
        .where(User.is_active.eq(True) & User.role.is_in(list(policy.LEAD_ROLES)))
        .order_by(User.display_name)
    )
    teams = await Team.select(Team.id, Team.name).order_by(Team.name)
    return {"people": people, "teams": teams}
