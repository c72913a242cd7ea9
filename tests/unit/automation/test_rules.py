"""Rule validation, condition operators and the event → trigger mapping, without a database."""

from __future__ import annotations

import pytest

from app.automation.rules import WEBHOOK_PROBLEMS, Choices, clean_rule, condition_holds, rule_matches, triggers_of

CHOICES = Choices(
    types={"complaint": "投诉建议", "refund": "退费申请"},
    users={7: "王老师"},
    teams={3: "前台"},
    templates={5: "已收到"},
)
TICKET = {
    "type_code": "complaint",
    "priority": "high",
    "channel": "wechat",
    "status": "new",
    "title": "老师迟到",
    "description": "孩子说数学课老师迟到了 20 分钟",
    "fields": {"amount": "1200.50", "subjects": ["数学", "英语"], "urgent": True},
    "student_tags": ["VIP"],
    "csat_score": 2,
    "event": {"body": "请尽快退费"},
}


def _rule(**overrides) -> dict:
    return {
        "name": "投诉升级",
        "trigger": "created",
        "conditions": [],
        "actions": [{"kind": "add_tag", "value": "投诉"}],
        **overrides,
    }


def test_a_valid_rule_is_cleaned_into_its_stored_shape():
    clean, errors = clean_rule(
        _rule(
            conditions=[{"subject": "priority", "op": "is", "value": "high"}],
            actions=[{"kind": "assign_person", "value": "7"}, {"kind": "add_tag", "value": "VIP"}],
        ),
        CHOICES,
    )
    assert errors == []
    assert clean["conditions"] == [{"subject": "priority", "op": "is", "value": "high"}]
    assert clean["actions"] == [{"kind": "assign_person", "user": 7}, {"kind": "add_tag", "tag": "VIP"}]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (_rule(name=""), "name"),
        (_rule(trigger="whenever"), "trigger"),
        (_rule(actions=[]), "actions"),
        (_rule(conditions=[{"subject": "priority", "op": "contains", "value": "high"}]), "conditions.0.op"),
        (_rule(conditions=[{"subject": "priority", "op": "is", "value": "huge"}]), "conditions.0.value"),
        (_rule(conditions=[{"subject": "type", "op": "is", "value": "nope"}]), "conditions.0.value"),
        (_rule(conditions=[{"subject": "field", "op": "gt", "key": "amount", "value": "lots"}]), "conditions.0.value"),
        (_rule(conditions=[{"subject": "field", "op": "equals", "key": "Bad Key", "value": "x"}]), "conditions.0.key"),
        (_rule(conditions=[{"subject": "text", "op": "contains", "value": ""}]), "conditions.0.value"),
        (_rule(actions=[{"kind": "assign_person", "value": "99"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "assign_team", "value": "x"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "add_tag", "value": "has space"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "notify_role", "value": "king"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "webhook", "value": "ftp://example.com/x"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "follow_up", "value": "nope"}]), "actions.0.value"),
        (_rule(actions=[{"kind": "explode"}]), "actions.0.kind"),
    ],
)
def test_each_bad_part_is_named(rule, field):
    _, errors = clean_rule(rule, CHOICES)
    assert field in [e.field for e in errors]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"subject": "type", "op": "is", "value": "complaint"}, True),
        ({"subject": "type", "op": "is_not", "value": "complaint"}, False),
        ({"subject": "priority", "op": "is", "value": "urgent"}, False),
        ({"subject": "channel", "op": "is_not", "value": "web"}, True),
        ({"subject": "text", "op": "contains", "value": "迟到"}, True),
        ({"subject": "text", "op": "contains", "value": "退费"}, True),  # the triggering message's body
        ({"subject": "text", "op": "not_contains", "value": "迟到"}, False),
        ({"subject": "field", "key": "amount", "op": "gt", "value": "1000"}, True),
        ({"subject": "field", "key": "amount", "op": "lt", "value": "1000"}, False),
        ({"subject": "field", "key": "amount", "op": "equals", "value": "1200.5"}, True),
        ({"subject": "field", "key": "subjects", "op": "contains", "value": "英语"}, True),
        ({"subject": "field", "key": "subjects", "op": "contains", "value": "语"}, False),  # whole options only
        ({"subject": "field", "key": "urgent", "op": "equals", "value": "是"}, True),
        ({"subject": "field", "key": "missing", "op": "is_empty", "value": ""}, True),
        ({"subject": "field", "key": "amount", "op": "is_set", "value": ""}, True),
        ({"subject": "field", "key": "missing", "op": "gt", "value": "1"}, False),
        ({"subject": "student_tag", "op": "has", "value": "vip"}, True),
        ({"subject": "student_tag", "op": "has_not", "value": "VIP"}, False),
        ({"subject": "csat_score", "op": "lt", "value": "3"}, True),
        ({"subject": "csat_score", "op": "equals", "value": "5"}, False),
    ],
)
def test_conditions(condition, expected):
    assert condition_holds(condition, TICKET) is expected


def test_all_and_any():
    yes = {"subject": "priority", "op": "is", "value": "high"}
    no = {"subject": "channel", "op": "is", "value": "web"}
    assert rule_matches({"match": "all", "conditions": [yes, no]}, TICKET) is False
    assert rule_matches({"match": "any", "conditions": [yes, no]}, TICKET) is True
    assert rule_matches({"match": "all", "conditions": []}, TICKET) is True


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("ticket.created", {}, ["created"]),
        ("ticket.message", {"public": True}, ["updated"]),
        ("ticket.updated", {"fields": ["priority"], "old_status": None}, ["updated"]),
        ("ticket.updated", {"fields": ["status"], "old_status": "new"}, ["updated", "status_changed"]),
        ("ticket.updated", {"fields": ["csat"], "old_status": None}, ["updated", "csat_received"]),
        ("ticket.updated", {"fields": ["sla"], "sla": ["remind"]}, ["sla_warning"]),
        ("ticket.updated", {"fields": ["sla"], "sla": ["breach", "escalate"]}, ["sla_breached"]),
        ("ticket.updated", {"fields": ["sla"], "sla": ["escalate"]}, []),
        ("ticket.updated", {"fields": ["automation"]}, []),
        ("ticket.presence", {}, []),
    ],
)
def test_triggers_of_events(name, payload, expected):
    assert triggers_of(name, payload) == expected


# --- webhook addresses (SSRF): refused on save without a DNS lookup --------------------------------


def _webhook_errors(url: str) -> list:
    _, errors = clean_rule(_rule(actions=[{"kind": "webhook", "value": url}]), CHOICES)
    return [(e.field, e.message) for e in errors]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://LOCALHOST./hook",
        "http://api.localhost/x",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fd00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://240.0.0.1/",
        "http://100.64.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
    ],
)
def test_a_webhook_to_a_private_or_local_host_is_refused(url, monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    assert _webhook_errors(url) == [("actions.0.value", WEBHOOK_PROBLEMS["private"])]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("https://", "scheme"),
        ("https://user:secret@hooks.example.com/x", "credentials"),
        ("https://token@hooks.example.com/x", "credentials"),
    ],
)
def test_a_webhook_that_is_not_plain_http_is_refused(url, problem):
    assert _webhook_errors(url) == [("actions.0.value", WEBHOOK_PROBLEMS[problem])]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/shuyuan",
        "http://8.8.8.8/hook",
        "https://[2001:4860:4860::8888]/hook",
        "https://oa.school.example:8443/api?x=1",
    ],
)
def test_a_public_webhook_is_accepted(url, monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    clean, errors = clean_rule(_rule(actions=[{"kind": "webhook", "value": url}]), CHOICES)
    assert errors == [] and clean["actions"] == [{"kind": "webhook", "url": url}]


def test_the_allowlist_opens_only_the_networks_it_names(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "10.20.0.0/16, 127.0.0.1 not-a-network")
    assert _webhook_errors("http://10.20.3.4/sis") == []
    assert _webhook_errors("http://127.0.0.1:9000/") == []
    assert _webhook_errors("http://localhost:9000/") == []  # localhost is 127.0.0.1 (or ::1)
    assert _webhook_errors("http://10.21.0.1/") == [("actions.0.value", WEBHOOK_PROBLEMS["private"])]
    assert _webhook_errors("http://169.254.169.254/") == [("actions.0.value", WEBHOOK_PROBLEMS["private"])]
    assert _webhook_errors("https://u:p@10.20.3.4/") == [("actions.0.value", WEBHOOK_PROBLEMS["credentials"])]
