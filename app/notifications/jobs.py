"""Queueing announcement delivery without ever losing one."""

from __future__ import annotations

import logging

from app.core.jobs import enqueue

log = logging.getLogger(__name__)


async def queue_delivery(announcement_id: int) -> None:
    """Ask the worker to deliver now; if Redis is away, the worker's sweep delivers it later.

    The announcement row (delivered_at still empty) is the durable record, so a failed
    enqueue costs only a minute of delay, never the message.
    """
    try:
        await enqueue("deliver_announcement", announcement_id, job_id=f"announcement:{announcement_id}")
    except Exception:  # noqa: BLE001 - the sweep in tasks/notifications.py picks it up
        log.warning("could not queue announcement %s; the sweep will deliver it", announcement_id, exc_info=True)
