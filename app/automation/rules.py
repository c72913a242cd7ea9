"""What a rule is: triggers, conditions and actions, their validation, and condition matching.

Pure functions over plain dicts, so the admin form, the API and the worker agree on one meaning
and tests can check every operator without a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.core.errors import FieldError
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import ROLES
from app.notifications.webhook_targets import saving_problem
from app.tickets import workflow

TRIGGERS: dict[str, str] = {
    "created": N_("Ticket created"),
    "updated": N_("Ticket updated"),
    "status_changed": N_("Status changed"),
    "sla_warning": N_("SLA near breach"),
    "sla_breached": N_("SLA breached"),
    "csat_received": N_("Satisfaction rating received"),
}

# Condition subjects and the operators each understands.
SUBJECTS: dict[str, str] = {
    "type": N_("Ticket type"),
    "priority": N_("Priority"),
    "channel": N_("Channel"),
    "status": N_("Status"),
    "text": N_("Title or description"),
    "field": N_("Form field"),
    "student_tag": N_("Student tag"),
    "csat_score": N_("Satisfaction score"),
}
OPERATORS: dict[str, str] = {
    "is": N_("is"),
    "is_not": N_("is not"),
    "contains": N_("contains"),
    "not_contains": N_("does not contain"),
    "equals": N_("equals"),
    "not_equals": N_("does not equal"),
    "gt": N_("greater than"),
    "lt": N_("less than"),
    "is_set": N_("is filled in"),
    "is_empty": N_("is empty"),
    "has": N_("has"),
    "has_not": N_("does not have"),
}
OPERATORS_OF: dict[str, tuple[str, ...]] = {
    "type": ("is", "is_not"),
    "priority": ("is", "is_not"),
    "channel": ("is", "is_not"),
    "status": ("is", "is_not"),
    "text": ("contains", "not_contains"),
    "field": ("equals", "not_equals", "contains", "gt", "lt", "is_set", "is_empty"),
    "student_tag": ("has", "has_not"),
    "csat_score": ("equals", "lt", "gt"),
}
NO_VALUE_OPS = ("is_set", "is_empty")

ACTIONS: dict[str, str] = {
    "assign_person": N_("Assign to a person"),
    "assign_team": N_("Assign to a team (its queue)"),
    "set_priority": N_("Set priority"),
    "add_tag": N_("Add tag"),
    "notify_role": N_("Notify a role"),
    "reply_template": N_("Send a reply from a template"),
    "follow_up": N_("Create a follow-up ticket"),
    "webhook": N_("Call a webhook"),
}
# The one parameter each action takes (the form's "value" input).
ACTION_PARAM: dict[str, str] = {
    "assign_person": "user",
    "assign_team": "team",
    "set_priority": "priority",
    "add_tag": "tag",
    "notify_role": "role",
    "reply_template": "template",
    "follow_up": "type",
    "webhook": "url",
}
TAG_RE = re.compile(r"^[\w\u4e00-\u9fff\-]{1,40}$")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
WEBHOOK_PROBLEMS = {  # webhook_targets.saving_problem's answers
    "scheme": N_("Enter a full http(s) address, at most 255 characters."),
    "credentials": N_("Leave the user name and password out of the address: the signature vouches for each call."),
    "private": N_(
        "This address is on a private or local network. Webhooks go to public addresses only, "
        "unless the server's WEBHOOK_ALLOW_PRIVATE setting allows that network."
    ),
}
MAX_CONDITIONS = 10
MAX_ACTIONS = 10
# A rule's actions may cause new triggers; after this many generations nothing more runs.
MAX_DEPTH = 3


@dataclass(frozen=True)
class Choices:
    """What the database offers for references, so validation needs no queries of its own."""

    types: dict[str, str]  # code -> name
    users: dict[int, str]
    teams: dict[int, str]
    templates: dict[int, str]


def _ref(value) -> int | None:
    return parse_int(value)


def clean_rule(data: dict, choices: Choices) -> tuple[dict, list[FieldError]]:
    """Validate a rule as the form or the API sends it; errors name `conditions.2.value` etc."""
    errors: list[FieldError] = []
    name = str(data.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", "Give the rule a name."))
    elif len(name) > 100:
        errors.append(FieldError("name", "At most 100 characters."))
    trigger = str(data.get("trigger") or "")
    if trigger not in TRIGGERS:
        errors.append(FieldError("trigger", "Choose one of the listed options."))
    match = str(data.get("match") or "all")
    if match not in ("all", "any"):
        errors.append(FieldError("match", "Choose one of the listed options."))
    conditions = [c for c in (data.get("conditions") or []) if isinstance(c, dict) and c.get("subject")]
    actions = [a for a in (data.get("actions") or []) if isinstance(a, dict) and a.get("kind")]
    if len(conditions) > MAX_CONDITIONS:
        errors.append(FieldError("conditions", "At most 10 conditions."))
    if not actions:
        errors.append(FieldError("actions", "Add at least one action."))
    elif len(actions) > MAX_ACTIONS:
        errors.append(FieldError("actions", "At most 10 actions."))
    clean_conditions = [_clean_condition(i, c, choices, errors) for i, c in enumerate(conditions[:MAX_CONDITIONS])]
    clean_actions = [_clean_action(i, a, choices, errors) for i, a in enumerate(actions[:MAX_ACTIONS])]
    return {
        "name": name,
        "trigger": trigger,
        "match": match,
        "is_active": bool(data.get("is_active", True)),
        "conditions": clean_conditions,
        "actions": clean_actions,
    }, errors


def _clean_condition(index: int, raw: dict, choices: Choices, errors: list[FieldError]) -> dict:
    at = f"conditions.{index}"
    subject, op = str(raw.get("subject") or ""), str(raw.get("op") or "")
    value = raw.get("value")
    value = value.strip() if isinstance(value, str) else value
    key = str(raw.get("key") or "").strip()
    out = {"subject": subject, "op": op, "value": value if value is not None else ""}
    if subject not in SUBJECTS:
        errors.append(FieldError(f"{at}.subject", "Choose one of the listed options."))
        return out
    if op not in OPERATORS_OF[subject]:
        errors.append(FieldError(f"{at}.op", "This comparison does not apply to this subject."))
        return out
    if subject == "field":
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
            errors.append(FieldError(f"{at}.key", "Enter the field's key, e.g. subject."))
        out["key"] = key
    if op in NO_VALUE_OPS:
        out["value"] = ""
        return out
    options = {
        "type": choices.types,
        "priority": workflow.PRIORITIES,
        "channel": workflow.CHANNELS,
        "status": workflow.STATUSES,
    }.get(subject)
    if options is not None:
        if value not in options:
            errors.append(FieldError(f"{at}.value", "Choose one of the listed options."))
    elif subject == "csat_score" or op in ("gt", "lt"):
        if _number(value) is None:
            errors.append(FieldError(f"{at}.value", "Enter a number."))
    elif not value:
        errors.append(FieldError(f"{at}.value", "Enter a value to compare with."))
    elif len(str(value)) > 200:
        errors.append(FieldError(f"{at}.value", "At most 200 characters."))
    return out


def _clean_action(index: int, raw: dict, choices: Choices, errors: list[FieldError]) -> dict:
    at = f"actions.{index}.value"
    kind = str(raw.get("kind") or "")
    if kind not in ACTIONS:
        errors.append(FieldError(f"actions.{index}.kind", "Choose one of the listed options."))
        return {"kind": kind}
    param = ACTION_PARAM[kind]
    value = raw.get(param, raw.get("value"))
    value = value.strip() if isinstance(value, str) else value
    out: dict = {"kind": kind}
    if kind in ("assign_person", "assign_team", "reply_template"):
        pool = {"assign_person": choices.users, "assign_team": choices.teams, "reply_template": choices.templates}[kind]
        ref = _ref(value)
        if ref is None or ref not in pool:
            errors.append(FieldError(at, "Choose one of the listed options."))
        out[param] = ref
    elif kind == "set_priority":
        if value not in workflow.PRIORITIES:
            errors.append(FieldError(at, "Choose one of the listed options."))
        out[param] = value
    elif kind == "add_tag":
        if not isinstance(value, str) or not TAG_RE.match(value):
            errors.append(FieldError(at, "Tags are 1–40 letters, digits, - or _."))
        out[param] = value
    elif kind == "notify_role":
        if value not in ROLES:
            errors.append(FieldError(at, "Choose one of the listed options."))
        out[param] = value
    elif kind == "follow_up":
        if value not in choices.types:
            errors.append(FieldError(at, "Choose one of the listed options."))
        out[param] = value
        title = str(raw.get("title") or "").strip()
        if len(title) > 200:
            errors.append(FieldError(f"actions.{index}.title", "At most 200 characters."))
        out["title"] = title
    elif kind == "webhook":
        well_formed = isinstance(value, str) and URL_RE.match(value) and len(value) <= 255
        problem = saving_problem(value) if well_formed else "scheme"
        if problem:
            errors.append(FieldError(at, WEBHOOK_PROBLEMS[problem]))
        out[param] = value
    return out


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _as_text(value) -> str:
    if isinstance(value, list):
        return " ".join(_as_text(v) for v in value)
    return "" if value is None else str(value)


def condition_holds(condition: dict, ticket: dict) -> bool:
    """`ticket` is the worker's view: the ticket row plus `type_code`, `tags`, `student_tags` and the
    trigger's payload under `event`."""
    subject, op, value = condition["subject"], condition["op"], condition.get("value")
    if subject in ("type", "priority", "channel", "status"):
        actual = ticket["type_code"] if subject == "type" else ticket[subject]
        return (actual == value) == (op == "is")
    if subject == "text":
        haystack = (
            f"{ticket.get('title', '')}\n{ticket.get('description', '')}\n{ticket.get('event', {}).get('body', '')}"
        )
        found = str(value).casefold() in haystack.casefold()
        return found == (op == "contains")
    if subject == "student_tag":
        found = str(value).casefold() in {t.casefold() for t in ticket.get("student_tags", [])}
        return found == (op == "has")
    if subject == "csat_score":
        return _compare(op, ticket.get("csat_score"), value)
    actual = (ticket.get("fields") or {}).get(condition.get("key", ""))
    if op == "is_set":
        return actual not in (None, "", [])
    if op == "is_empty":
        return actual in (None, "", [])
    if op == "contains":
        if isinstance(actual, list):
            return any(str(v).casefold() == str(value).casefold() for v in actual)
        return str(value).casefold() in _as_text(actual).casefold()
    return _compare(op, actual, value)


def _compare(op: str, actual, expected) -> bool:
    if op in ("gt", "lt"):
        a, b = _number(actual), _number(expected)
        if a is None or b is None:
            return False
        return a > b if op == "gt" else a < b
    a_num, b_num = _number(actual), _number(expected)
    same = a_num == b_num if a_num is not None and b_num is not None else _as_text(actual) == _as_text(expected)
    if isinstance(actual, bool):
        same = str(expected).strip().lower() in (("true", "yes", "1", "是") if actual else ("false", "no", "0", "否"))
    return same if op == "equals" else not same


def rule_matches(rule: dict, ticket: dict) -> bool:
    conditions = rule.get("conditions") or []
    if not conditions:
        return True
    results = (condition_holds(c, ticket) for c in conditions)
    return all(results) if rule.get("match", "all") == "all" else any(results)


def triggers_of(event_name: str, payload: dict) -> list[str]:
    """Which triggers a ticket event fires. The SLA scan's own event fires only the SLA triggers; the
    automation's own log entry fires nothing."""
    if event_name == "ticket.created":
        return ["created"]
    fields = payload.get("fields") or []
    if event_name == "ticket.message":
        return ["updated"]
    if event_name != "ticket.updated" or fields == ["automation"]:
        return []
    if fields == ["sla"]:
        kinds = payload.get("sla") or []
        return [t for t, k in (("sla_warning", "remind"), ("sla_breached", "breach")) if k in kinds]
    found = ["updated"]
    if payload.get("old_status") is not None:
        found.append("status_changed")
    if "csat" in fields:
        found.append("csat_received")
    return found
