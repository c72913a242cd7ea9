"""What other domains add to a lead's page, registered at start-up so that leads imports none of them.

Students build on leads (a lead is converted into a student), so the lead page learns whether it
may offer 转为学员 from the students domain through this hook instead of importing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.core.permissions import CurrentUser

ConversionState = Callable[[CurrentUser, dict], Awaitable[Any]]
_conversion_state: ConversionState | None = None


def use_conversion_state(provider: ConversionState) -> None:
    global _conversion_state
    _conversion_state = provider


async def conversion_state(user: CurrentUser, lead: dict) -> Any:
    """The conversion panel's state for this lead, or None when no students domain is wired."""
    return await _conversion_state(user, lead) if _conversion_state else None
