"""The assignment decision itself: pure, no I/O, fast (a few hundred staff in well under 1 ms).

Eligible = has a matching skill for every kind the ticket needs, is on shift and is online. Of
those, the student's own class teacher or advisor wins; otherwise the least loaded (open tickets
weighted by priority), round-robin among ties from the scope's cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.core.i18n import N_

SKILL_KINDS: dict[str, str] = {
    "subject": N_("Course subject"),
    "type": N_("Ticket type"),
    "language": N_("Language"),
    "campus": N_("Campus"),
}
LANGUAGES: dict[str, str] = {"zh": N_("Chinese"), "en": N_("English"), "ja": N_("Japanese"), "ko": N_("Korean")}
LOAD_WEIGHTS: dict[str, float] = {"urgent": 4.0, "high": 2.0, "normal": 1.0, "low": 0.5}
MODES: dict[str, str] = {"auto": N_("Automatic"), "manual": N_("Manual")}

# Why a ticket went to whom (stored on the timeline and the decision row).
PREFERRED_CLASS_TEACHER = "class_teacher"
PREFERRED_ADVISOR = "advisor"
LEAST_LOADED = "least_loaded"
ROUND_ROBIN = "round_robin"
NOBODY_SKILLED = "nobody_skilled"
NOBODY_AVAILABLE = "nobody_available"


@dataclass(frozen=True)
class Needs:
    """What a ticket asks for: per skill kind, the values any one of which will do."""

    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    class_teacher: int | None = None
    advisor: int | None = None


@dataclass(frozen=True)
class Candidate:
    user_id: int
    skills: frozenset[tuple[str, str]]
    on_shift: bool = True
    online: bool = True

    def matches(self, needs: Needs) -> bool:
        return all(any((kind, v) in self.skills for v in values) for kind, values in needs.required.items())


@dataclass(frozen=True)
class Choice:
    assignee: int | None
    reason: str
    tied: tuple[int, ...] = ()

    @property
    def advances_cursor(self) -> bool:
        return self.reason in (LEAST_LOADED, ROUND_ROBIN)


def ticket_load(priorities: Iterable[str]) -> float:
    return sum(LOAD_WEIGHTS.get(p, 1.0) for p in priorities)


def choose_assignee(
    needs: Needs,
    candidates: Iterable[Candidate],
    loads: Mapping[int, float],
    last_user: int = 0,
    exclude: frozenset[int] = frozenset(),
) -> Choice:
    """Pick the assignee, or None with the reason nobody fits.

    `loads` maps user id → weighted open tickets (missing = 0); `last_user` is the scope's
    round-robin cursor (who got the last tie); `exclude` leaves people out (the current assignee
    on escalation).
    """
    skilled = [c for c in candidates if c.user_id not in exclude and c.matches(needs)]
    if not skilled:
        return Choice(None, NOBODY_SKILLED)
    eligible = {c.user_id for c in skilled if c.on_shift and c.online}
    if not eligible:
        return Choice(None, NOBODY_AVAILABLE)
    preferred = [
        (who, reason)
        for who, reason in ((needs.class_teacher, PREFERRED_CLASS_TEACHER), (needs.advisor, PREFERRED_ADVISOR))
        if who in eligible
    ]
    if preferred:
        # Both eligible: the less loaded of the two; equal load: the class teacher.
        who, reason = min(preferred, key=lambda p: loads.get(p[0], 0.0))
        return Choice(who, reason)
    lowest = min(loads.get(u, 0.0) for u in eligible)
    tied = sorted(u for u in eligible if loads.get(u, 0.0) - lowest < 1e-9)
    if len(tied) == 1:
        return Choice(tied[0], LEAST_LOADED, tuple(tied))
    after = [u for u in tied if u > last_user]
    return Choice(after[0] if after else tied[0], ROUND_ROBIN, tuple(tied))
