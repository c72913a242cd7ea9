"""SLA jobs: the scan every 15 seconds (reminders, unclaimed escalation, breaches).

Safe with several workers and across restarts: each action is guarded by a unique SlaAction row
(app/sla/scan.py), so a scan that runs twice, or on two workers at once, acts once.
"""

from __future__ import annotations

from app.sla.scan import scan


async def sla_scan(ctx: dict) -> dict:
    done = await scan()
    return dict(done)
