"""A few automation rules and reply templates, so the demo shows what rules look like and do."""

from __future__ import annotations

from app.demo.context import Ctx, insert_rows
from tables.automation.tables import AutomationRule, ReplyTemplate

TEMPLATES = [
    (
        "已收到您的请求",
        "{requester} 您好，您的请求 {number}「{title}」已收到，我们会尽快处理。如有补充，直接回复即可。",
    ),
    (
        "退费申请已受理",
        "{requester} 您好，退费申请 {number} 已进入审批流程（班主任初审 → 教务主管复核 → 财务执行），结果会第一时间通知您。",
    ),
]


async def seed_automation(ctx: Ctx) -> None:
    received, refund = await insert_rows(
        ReplyTemplate, [dict(name=name, body=body, created_at=ctx.now, updated_at=ctx.now) for name, body in TEMPLATES]
    )
    admin = ctx.user("admin")["id"]
    rules = [
        (
            "紧急投诉通知主管",
            "created",
            "all",
            [
                {"subject": "type", "op": "is", "value": "complaint"},
                {"subject": "priority", "op": "is", "value": "urgent"},
            ],
            [{"kind": "add_tag", "tag": "紧急投诉"}, {"kind": "notify_role", "role": "supervisor"}],
        ),
        (
            "网页提交自动回复",
            "created",
            "all",
            [{"subject": "channel", "op": "is", "value": "web"}],
            [{"kind": "reply_template", "template": received}],
        ),
        (
            "退费申请受理回复",
            "created",
            "all",
            [{"subject": "type", "op": "is", "value": "refund"}],
            [{"kind": "reply_template", "template": refund}],
        ),
        (
            "超时工单升为高优先级",
            "sla_breached",
            "any",
            [
                {"subject": "priority", "op": "is", "value": "low"},
                {"subject": "priority", "op": "is", "value": "normal"},
            ],
            [{"kind": "set_priority", "priority": "high"}, {"kind": "add_tag", "tag": "已超时"}],
        ),
        (
            "低分评价回访",
            "csat_received",
            "all",
            [{"subject": "csat_score", "op": "lt", "value": "3"}],
            [
                {"kind": "follow_up", "type": "complaint", "title": "满意度回访：{title}"},
                {"kind": "notify_role", "role": "supervisor"},
            ],
        ),
    ]
    rows = [
        dict(
            name=name,
            trigger=trigger,
            match=match,
            conditions=conditions,
            actions=actions,
            position=i,
            created_by=admin,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        for i, (name, trigger, match, conditions, actions) in enumerate(rules)
    ]
    await insert_rows(AutomationRule, rows)
    ctx.count(ReplyTemplate, len(TEMPLATES))
    ctx.count(AutomationRule, len(rows))
