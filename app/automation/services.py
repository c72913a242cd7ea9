"""Rules and reply templates as the admin edits them: validation, ordering, switching off, deleting
with undo, and the run log. Admins only, checked here (the pages hide nothing the server allows)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count

from app.automation import engine
from app.automation.reactions import forget_cached_rules
from app.automation.rules import (
    ACTION_PARAM,
    MAX_ACTIONS,
    MAX_CONDITIONS,
    TRIGGERS,
    Choices,
    clean_rule,
    condition_holds,
    rule_matches,
)
from app.core import audit
from app.core.clock import Clock, system_clock
from app.core.db import UnitOfWork
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.events import ADMINS, Event
from app.core.forms import parse_int
from app.core.pagination import Page, PageRequest, fetch_page
from app.core.permissions import CurrentUser
from tables.accounts.tables import Team, User
from tables.automation.tables import AutomationRule, AutomationRun, ReplyTemplate
from tables.tickets.tables import Ticket, TicketType

RULE_FIELDS = ("name", "trigger", "match", "conditions", "actions", "is_active")
RUN_COLUMNS = (
    AutomationRun.id,
    AutomationRun.rule,
    AutomationRun.rule_name,
    AutomationRun.ticket,
    AutomationRun.trigger,
    AutomationRun.outcome,
    AutomationRun.log,
    AutomationRun.error,
    AutomationRun.created_at,
    AutomationRun.finished_at,
    AutomationRun.ticket.number.as_alias("ticket_number"),
    AutomationRun.ticket.title.as_alias("ticket_title"),
)


def require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators can change automation rules.")


async def choices() -> Choices:
    types = await TicketType.select(TicketType.code, TicketType.name).order_by(TicketType.sort_order)
    users = await User.select(User.id, User.display_name).where(User.is_active.eq(True)).order_by(User.display_name)
    teams = await Team.select(Team.id, Team.name).order_by(Team.name)
    templates = (
        await ReplyTemplate.select(ReplyTemplate.id, ReplyTemplate.name)
        .where(ReplyTemplate.is_active.eq(True))
        .order_by(ReplyTemplate.name)
    )
    return Choices(
        types={t["code"]: t["name"] for t in types},
        users={u["id"]: u["display_name"] for u in users},
        teams={t["id"]: t["name"] for t in teams},
        templates={t["id"]: t["name"] for t in templates},
    )


def rule_from_form(form: dict[str, str]) -> dict:
    """The flat form (conditions.0.subject, actions.1.value, …) as the nested rule clean_rule reads."""
    conditions = []
    for i in range(MAX_CONDITIONS + 1):
        if f"conditions.{i}.subject" not in form:
            continue
        conditions.append({k: form.get(f"conditions.{i}.{k}", "") for k in ("subject", "key", "op", "value")})
    actions = []
    for i in range(MAX_ACTIONS + 1):
        if f"actions.{i}.kind" not in form:
            continue
        actions.append({k: form.get(f"actions.{i}.{k}", "") for k in ("kind", "value", "title")})
    return {
        "name": form.get("name", ""),
        "trigger": form.get("trigger", ""),
        "match": form.get("match", "all"),
        "is_active": form.get("is_active") in ("on", "1", "true"),
        "conditions": conditions,
        "actions": actions,
    }


def _version(raw) -> int | None:
    if raw in (None, ""):
        return None
    version = parse_int(raw)
    if version is None:
        raise ValidationFailed([FieldError("version", "Must be an integer.")])
    return version


async def list_rules(include_deleted: bool = False) -> list[dict]:
    where = AutomationRule.deleted_at.is_null() if not include_deleted else AutomationRule.deleted_at.is_not_null()
    rules = (
        await AutomationRule.select(*AutomationRule.all_columns())
        .where(where)
        .order_by(AutomationRule.position)
        .order_by(AutomationRule.id)
        .output(load_json=True)
    )
    order = list(TRIGGERS)
    rules.sort(key=lambda r: (order.index(r["trigger"]) if r["trigger"] in order else 99, r["position"], r["id"]))
    if rules:
        counts: dict[tuple[int, str], int] = {}
        grouped = (
            await AutomationRun.select(AutomationRun.rule, AutomationRun.outcome, Count(AutomationRun.id, alias="n"))
            .where(AutomationRun.rule.is_in([r["id"] for r in rules]))
            .group_by(AutomationRun.rule, AutomationRun.outcome)
        )
        for row in grouped:
            counts[(row["rule"], row["outcome"])] = row["n"]
        for rule in rules:
            rule["runs"] = sum(v for (rid, _), v in counts.items() if rid == rule["id"])
            rule["failed"] = counts.get((rule["id"], "failed"), 0)
    return rules


async def get_rule(rule_id: int) -> dict:
    rule = (
        await AutomationRule.select(*AutomationRule.all_columns())
        .where(AutomationRule.id == rule_id)
        .first()
        .output(load_json=True)
    )
    if rule is None:
        raise NotFound("This rule does not exist.")
    return rule


async def save_rule(actor: CurrentUser, rule_id: int | None, data: dict, clock: Clock = system_clock) -> dict:
    """Create (rule_id None) or replace a rule. `data["version"]`, when given, must match the stored one."""
    require_admin(actor)
    version = _version(data.get("version"))
    clean, errors = clean_rule(data, await choices())
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    async with UnitOfWork() as uow:
        if rule_id is None:
            rows = await AutomationRule.insert(
                AutomationRule(
                    **clean,
                    position=await _next_position(clean["trigger"]),
                    created_by=actor.id,
                    created_at=now,
                    updated_at=now,
                )
            ).returning(AutomationRule.id)
            rule_id = rows[0]["id"]
            await audit.record(
                actor_id=actor.id,
                action="create",
                entity_type="automation_rule",
                entity_id=rule_id,
                changes=audit.snapshot(clean, RULE_FIELDS),
            )
        else:
            before = await get_rule(rule_id)
            if before["deleted_at"] is not None:
                raise NotFound("This rule does not exist.")
            where = AutomationRule.id == rule_id
            if version is not None:
                where &= AutomationRule.version == version
            moved = {}
            if clean["trigger"] != before["trigger"]:  # joins its new trigger's rules at the end
                moved = {AutomationRule.position: await _next_position(clean["trigger"])}
            done = (
                await AutomationRule.update(
                    {
                        **{getattr(AutomationRule, k): v for k, v in clean.items()},
                        **moved,
                        AutomationRule.version: AutomationRule.version + 1,
                        AutomationRule.updated_at: now,
                    }
                )
                .where(where)
                .returning(AutomationRule.id)
            )
            if not done:
                raise Conflict("Someone else changed this rule after you opened it. Reload to see their changes.")
            await audit.record(
                actor_id=actor.id,
                action="update",
                entity_type="automation_rule",
                entity_id=rule_id,
                changes=audit.diff(before, clean, RULE_FIELDS),
            )
        uow.emit(Event("automation.rule_saved", {"id": rule_id}, audience=ADMINS))
        uow.after_commit(_forget)
    return await get_rule(rule_id)


async def _next_position(trigger: str) -> int:
    last = (
        await AutomationRule.select(AutomationRule.position)
        .where(AutomationRule.trigger == trigger)
        .order_by(AutomationRule.position, ascending=False)
        .first()
    )
    return last["position"] + 1 if last else 0


async def _forget() -> None:
    forget_cached_rules()


async def _change(actor: CurrentUser, rule_id: int, updates: dict, action: str, clock: Clock) -> dict:
    require_admin(actor)
    await get_rule(rule_id)
    async with UnitOfWork() as uow:
        await AutomationRule.update(
            {
                **updates,
                AutomationRule.version: AutomationRule.version + 1,
                AutomationRule.updated_at: clock.now(),
            }
        ).where(AutomationRule.id == rule_id)
        await audit.record(
            actor_id=actor.id, action=action, entity_type="automation_rule", entity_id=rule_id, changes={}
        )
        uow.emit(Event("automation.rule_saved", {"id": rule_id}, audience=ADMINS))
        uow.after_commit(_forget)
    return await get_rule(rule_id)


async def set_active(actor: CurrentUser, rule_id: int, active: bool, clock: Clock = system_clock) -> dict:
    return await _change(actor, rule_id, {AutomationRule.is_active: active}, "enable" if active else "disable", clock)


async def delete_rule(actor: CurrentUser, rule_id: int, clock: Clock = system_clock) -> dict:
    """Soft: the rule stops and moves to "Deleted rules", from where it can be restored; its runs stay."""
    return await _change(actor, rule_id, {AutomationRule.deleted_at: clock.now()}, "delete", clock)


async def restore_rule(actor: CurrentUser, rule_id: int, clock: Clock = system_clock) -> dict:
    return await _change(actor, rule_id, {AutomationRule.deleted_at: None}, "restore", clock)


async def move_rule(actor: CurrentUser, rule_id: int, direction: str, clock: Clock = system_clock) -> None:
    """Swap with the neighbour above ("up") or below ("down") among the live rules of the same trigger."""
    require_admin(actor)
    if direction not in ("up", "down"):
        raise ValidationFailed([FieldError("direction", "Choose one of the listed options.")])
    rule = await get_rule(rule_id)
    siblings = [r for r in await list_rules() if r["trigger"] == rule["trigger"]]
    ids = [r["id"] for r in siblings]
    if rule_id not in ids:
        raise NotFound("This rule does not exist.")
    i = ids.index(rule_id)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(ids):
        return
    ids[i], ids[j] = ids[j], ids[i]
    async with UnitOfWork() as uow:
        # Rewrite every position 0..n: old data may have ties, and a swap of tied values changes nothing.
        for position, rid in enumerate(ids):
            # The version counts every change, the order included.
            await AutomationRule.update(
                {
                    AutomationRule.position: position,
                    AutomationRule.version: AutomationRule.version + 1,
                }
            ).where((AutomationRule.id == rid) & (AutomationRule.position != position))
        await audit.record(
            actor_id=actor.id, action=f"move_{direction}", entity_type="automation_rule", entity_id=rule_id, changes={}
        )
        uow.emit(Event("automation.rule_saved", {"id": rule_id}, audience=ADMINS))


@dataclass(frozen=True)
class TestResult:
    ticket: dict
    matched: bool
    conditions: list[tuple[dict, bool]]


async def test_rule(actor: CurrentUser, data: dict, ticket_ref: str) -> TestResult:
    """Would this (unsaved) rule match that ticket now? Nothing is changed."""
    require_admin(actor)
    clean, errors = clean_rule(data, await choices())
    errors = [e for e in errors if e.field.startswith("conditions")]
    ref = (ticket_ref or "").strip()
    ticket_id = parse_int(ref)
    row = (
        await Ticket.select(Ticket.id)
        .where((Ticket.number == ref.upper()) | (Ticket.id == (-1 if ticket_id is None else ticket_id)))
        .first()
        if ref
        else None
    )
    if row is None:
        errors.append(FieldError("test_ticket", "No ticket with this number."))
    if errors:
        raise ValidationFailed(errors)
    ticket = await engine.ticket_view(row["id"], {})
    if ticket is None:
        raise ValidationFailed([FieldError("test_ticket", "No ticket with this number.")])
    return TestResult(
        ticket, rule_matches(clean, ticket), [(c, condition_holds(c, ticket)) for c in clean["conditions"]]
    )


async def list_runs(rule_id: int | None, page: PageRequest, outcome: str = "") -> Page[dict]:
    where = AutomationRun.id.is_not_null()
    if rule_id is not None:
        where &= AutomationRun.rule == rule_id
    if outcome:
        where &= AutomationRun.outcome == outcome
    result = await fetch_page(AutomationRun, RUN_COLUMNS, where, page)
    for row in result.items:
        if isinstance(row["log"], str):  # SQLite hands JSON columns back as text
            row["log"] = json.loads(row["log"])
    return result


# --- reply templates ---------------------------------------------------------------------------


async def list_templates() -> list[dict]:
    return await ReplyTemplate.select().order_by(ReplyTemplate.is_active, ascending=False).order_by(ReplyTemplate.name)


async def get_template(template_id: int) -> dict:
    template = await ReplyTemplate.select().where(ReplyTemplate.id == template_id).first()
    if template is None:
        raise NotFound("This template does not exist.")
    return template


async def save_template(actor: CurrentUser, template_id: int | None, data: dict, clock: Clock = system_clock) -> dict:
    require_admin(actor)
    name, body = str(data.get("name") or "").strip(), str(data.get("body") or "").strip()
    errors = []
    if not name:
        errors.append(FieldError("name", "Give the template a name."))
    elif len(name) > 100:
        errors.append(FieldError("name", "At most 100 characters."))
    if not body:
        errors.append(FieldError("body", "Write the reply."))
    elif len(body) > 10000:
        errors.append(FieldError("body", "At most 10,000 characters."))
    if errors:
        raise ValidationFailed(errors)
    active = data.get("is_active", "on") in ("on", "1", "true", True)
    now = clock.now()
    async with UnitOfWork() as uow:
        if template_id is None:
            rows = await ReplyTemplate.insert(
                ReplyTemplate(name=name, body=body, is_active=active, created_at=now, updated_at=now)
            ).returning(ReplyTemplate.id)
            template_id = rows[0]["id"]
        else:
            done = (
                await ReplyTemplate.update(
                    {
                        ReplyTemplate.name: name,
                        ReplyTemplate.body: body,
                        ReplyTemplate.is_active: active,
                        ReplyTemplate.updated_at: now,
                    }
                )
                .where(ReplyTemplate.id == template_id)
                .returning(ReplyTemplate.id)
            )
            if not done:
                raise NotFound("This template does not exist.")
        await audit.record(
            actor_id=actor.id,
            action="save",
            entity_type="reply_template",
            entity_id=template_id,
            changes={"name": [None, name]},
        )
        uow.emit(Event("automation.template_saved", {"id": template_id}, audience=ADMINS))
    return await ReplyTemplate.select().where(ReplyTemplate.id == template_id).first()


async def rules_using_template(template_id: int, rules: list[dict] | None = None) -> list[str]:
    """Names of the live rules that reply with this template (`rules`: list_rules(), when already read)."""
    rules = await list_rules() if rules is None else rules
    return [
        r["name"]
        for r in rules
        if any(
            a.get("kind") == "reply_template" and a.get(ACTION_PARAM["reply_template"]) == template_id
            for a in r["actions"]
        )
    ]
