"""Jobs for notifications: thin wrappers over the service, safe to run twice."""

from app.notifications import services


async def deliver_announcement(ctx: dict, announcement_id: int) -> int:
    return await services.deliver_announcement(announcement_id)


async def sweep_announcements(ctx: dict) -> int:
    return await services.deliver_pending_announcements()
