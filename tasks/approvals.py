"""Approval jobs: thin wrappers over app.approvals.services, safe to run twice or on several workers."""

from app.approvals import services


async def remind_overdue_approvals(ctx: dict) -> int:
    return await services.remind_overdue()
