"""Automation admin pages (/admin/automation): rules by trigger, the rule editor, trying a rule on a
ticket, the run log, and reply templates. Admins only; the services check again on every write."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response

from app.automation import rules as rule_defs
from app.automation import services
from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import form_data, optional_int, parse_int
from app.core.pagination import PageRequest
from app.core.permissions import ROLES, CurrentUser
from app.core.templates import environment
from app.core.web import page
from app.notifications.channels import webhook_secret
from app.tickets import workflow
from tables.tickets.tables import TicketType

FORM = "automation/form.html"
EDITOR = "automation/editor.html"
TEMPLATE_FORM = "automation/template_form.html"
OUTCOMES = ("done", "failed", "skipped_loop", "running")
# The ticket timeline names a run's trigger and actions (components/automation/timeline_event.html).
environment.globals.update(automation_triggers=rule_defs.TRIGGERS, automation_actions=rule_defs.ACTIONS)


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


def _blank_condition() -> dict:
    return {"subject": "priority", "op": "is", "value": "", "key": ""}


def _blank_action() -> dict:
    return {"kind": "add_tag", "value": "", "title": ""}


def _editable(rule: dict) -> dict:
    """A stored rule in the shape of the form (one `value` per action, whatever its parameter is called)."""
    actions = [
        {
            "kind": a.get("kind", ""),
            "value": a.get(rule_defs.ACTION_PARAM.get(a.get("kind", ""), "value"), ""),
            "title": a.get("title", ""),
        }
        for a in rule.get("actions") or []
    ]
    conditions = [{"key": "", **c} for c in rule.get("conditions") or []]
    return {**rule, "conditions": conditions, "actions": actions}


def apply_op(values: dict, op: str) -> dict:
    """The editor's add/remove buttons, on the rule as the form sent it."""
    conditions, actions = list(values["conditions"]), list(values["actions"])
    name, _, arg = op.partition(":")
    index = parse_int(arg)
    index = -1 if index is None else index
    if name == "add_condition" and len(conditions) < rule_defs.MAX_CONDITIONS:
        conditions.append(_blank_condition())
    elif name == "remove_condition" and 0 <= index < len(conditions):
        conditions.pop(index)
    elif name == "add_action" and len(actions) < rule_defs.MAX_ACTIONS:
        actions.append(_blank_action())
    elif name == "remove_action" and 0 <= index < len(actions):
        actions.pop(index)
    for condition in conditions:
        # A new subject keeps the operator only where it still applies.
        allowed = rule_defs.OPERATORS_OF.get(condition["subject"], ())
        if condition["op"] not in allowed and allowed:
            condition["op"] = allowed[0]
    return {**values, "conditions": conditions, "actions": actions}


async def _field_keys() -> list[tuple[str, str]]:
    """Every form field of every ticket type, for the condition's key suggestions."""
    seen: dict[str, str] = {}
    for row in await TicketType.select(TicketType.name, TicketType.fields).output(load_json=True):
        for field in row["fields"] or []:
            if field.get("key") and not field.get("archived"):
                seen.setdefault(field["key"], f"{field.get('label', field['key'])} · {row['name']}")
    return sorted(seen.items())


async def _context(rule: dict | None, values: dict, errors: dict | None = None, detail: str = "") -> dict:
    return {
        "rule": rule,
        "values": values,
        "errors": errors or {},
        "detail": detail,
        "choices": await services.choices(),
        "field_keys": await _field_keys(),
        "triggers": rule_defs.TRIGGERS,
        "subjects": rule_defs.SUBJECTS,
        "operators": rule_defs.OPERATORS,
        "operators_of": rule_defs.OPERATORS_OF,
        "no_value_ops": rule_defs.NO_VALUE_OPS,
        "action_kinds": rule_defs.ACTIONS,
        "wf": workflow,
        "roles": ROLES,
        "max_conditions": rule_defs.MAX_CONDITIONS,
        "max_actions": rule_defs.MAX_ACTIONS,
    }


class AutomationAdminController(Controller):
    path = "/admin/automation"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await self._index(request, notice=request.query_params.get("notice", ""))

    async def _index(self, request: Request, notice: str = "") -> Response:
        rules = await services.list_rules()
        by_trigger: dict[str, list[dict]] = {t: [] for t in rule_defs.TRIGGERS}
        for rule in rules:
            by_trigger.setdefault(rule["trigger"], []).append(rule)
        return await page(
            request,
            "automation/index.html",
            by_trigger=by_trigger,
            rule_count=len(rules),
            deleted=await services.list_rules(include_deleted=True),
            notice=notice,
            **await _context(None, {}),
        )

    @get("/new")
    async def new(self, request: Request, trigger: FromQuery[str] = "created") -> Response:
        trigger = trigger if trigger in rule_defs.TRIGGERS else "created"
        values = {
            "name": "",
            "trigger": trigger,
            "match": "all",
            "is_active": True,
            "conditions": [],
            "actions": [_blank_action()],
        }
        return await page(request, FORM, **await _context(None, values))

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        return await self._save(request, user, None)

    @get("/{rule_id:int}")
    async def edit(self, request: Request, rule_id: FromPath[int]) -> Response:
        rule = await services.get_rule(rule_id)
        if rule["deleted_at"] is not None:
            raise NotFound("This rule does not exist.")
        return await page(request, FORM, **await _context(rule, _editable(rule)))

    @post("/{rule_id:int}")
    async def update(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        return await self._save(request, user, rule_id)

    async def _save(self, request: Request, user: CurrentUser, rule_id: int | None) -> Response:
        data = await form_data(request)
        values = services.rule_from_form(data)
        try:
            saved = await services.save_rule(user, rule_id, {**values, "version": data.get("version")})
        except (ValidationFailed, Conflict) as exc:
            rule = await services.get_rule(rule_id) if rule_id is not None else None
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            status = 422 if isinstance(exc, ValidationFailed) else 409
            return await page(request, FORM, status_code=status, **await _context(rule, values, errors, exc.detail))
        return _redirect(request, f"/admin/automation?notice=saved#rule-{saved['id']}")

    @post("/editor")
    async def editor(self, request: Request, user: AuthUser) -> Response:
        """Add or remove a row, or adapt a row to a new subject or action: the re-rendered editor."""
        services.require_admin(user)
        data = await form_data(request)
        values = apply_op(services.rule_from_form(data), data.get("op", ""))
        rule_id = optional_int(data, "rule_id")
        rule = await services.get_rule(rule_id) if rule_id is not None else None
        context = await _context(rule, {**values, "version": data.get("version", "")})
        if request.htmx:
            return HTMXTemplate(template_name=EDITOR, context=context)
        return await page(request, FORM, **context)

    @post("/test")
    async def try_rule(self, request: Request, user: AuthUser) -> Response:
        """Would the rule as edited match a given ticket now? Changes nothing."""
        data = await form_data(request)
        values = services.rule_from_form(data)
        try:
            result = await services.test_rule(user, values, data.get("test_ticket", ""))
        except ValidationFailed as exc:
            return HTMXTemplate(
                template_name="automation/test_result.html",
                status_code=422,
                context={**await _context(None, values), "result": None, "errors": exc.by_field()},
            )
        return HTMXTemplate(
            template_name="automation/test_result.html",
            context={**await _context(None, values), "result": result, "errors": {}},
        )

    @post("/{rule_id:int}/active")
    async def set_active(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        data = await form_data(request)
        active = data.get("active") == "1"
        await services.set_active(user, rule_id, active)
        return await self._after(request, "enabled" if active else "disabled")

    @post("/{rule_id:int}/move")
    async def move(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        data = await form_data(request)
        await services.move_rule(user, rule_id, data.get("direction", ""))
        return await self._after(request, "")

    @post("/{rule_id:int}/delete")
    async def delete(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        await services.delete_rule(user, rule_id)
        return await self._after(request, f"deleted:{rule_id}")

    @post("/{rule_id:int}/restore")
    async def restore(self, request: Request, user: AuthUser, rule_id: FromPath[int]) -> Response:
        await services.restore_rule(user, rule_id)
        return await self._after(request, "restored")

    async def _after(self, request: Request, notice: str) -> Response:
        if request.htmx:
            return await self._index(request, notice)
        return Redirect(f"/admin/automation?notice={notice}")

    @get("/runs")
    async def runs(
        self,
        request: Request,
        rule: FromQuery[str] = "",
        outcome: FromQuery[str] = "",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        rule_id = parse_int(rule)
        outcome = outcome if outcome in OUTCOMES else ""
        result = await services.list_runs(rule_id, PageRequest.parse(limit, offset), outcome)
        chosen = await services.get_rule(rule_id) if rule_id is not None else None
        return await page(
            request,
            "automation/runs.html",
            page_data=result,
            chosen=chosen,
            outcomes=OUTCOMES,
            filters={"rule": rule if rule_id else "", "outcome": outcome},
            rules=await services.list_rules(),
            action_kinds=rule_defs.ACTIONS,
            triggers=rule_defs.TRIGGERS,
        )

    # --- reply templates and the webhook secret ---------------------------------------------------

    @get("/templates")
    async def templates(self, request: Request) -> Response:
        rows, rules = await services.list_templates(), await services.list_rules()
        for row in rows:
            row["used_by"] = await services.rules_using_template(row["id"], rules)
        return await page(
            request,
            "automation/templates.html",
            templates=rows,
            secret=webhook_secret(),
            notice=request.query_params.get("notice", ""),
        )

    @get("/templates/new")
    async def new_template(self, request: Request) -> Response:
        return await page(request, TEMPLATE_FORM, reply=None, values={"is_active": True}, errors={}, detail="")

    @get("/templates/{template_id:int}")
    async def edit_template(self, request: Request, template_id: FromPath[int]) -> Response:
        template = await services.get_template(template_id)
        return await page(
            request,
            TEMPLATE_FORM,
            reply=template,
            values=template,
            errors={},
            detail="",
            used_by=await services.rules_using_template(template_id),
        )

    @post("/templates")
    async def create_template(self, request: Request, user: AuthUser) -> Response:
        return await self._save_template(request, user, None)

    @post("/templates/{template_id:int}")
    async def update_template(self, request: Request, user: AuthUser, template_id: FromPath[int]) -> Response:
        return await self._save_template(request, user, template_id)

    async def _save_template(self, request: Request, user: CurrentUser, template_id: int | None) -> Response:
        data = await form_data(request)
        data["is_active"] = "1" if data.get("is_active") else "0"
        try:
            await services.save_template(user, template_id, data)
        except ValidationFailed as exc:
            template = await services.get_template(template_id) if template_id is not None else None
            used_by = await services.rules_using_template(template_id) if template_id is not None else []
            return await page(
                request,
                TEMPLATE_FORM,
                status_code=422,
                reply=template,
                values=data,
                errors=exc.by_field(),
                detail=exc.detail,
                used_by=used_by,
            )
        return _redirect(request, "/admin/automation/templates?notice=saved")
