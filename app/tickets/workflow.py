"""Ticket statuses, priorities, channels and the legal moves between statuses."""

from __future__ import annotations

from app.core.i18n import N_

STATUSES: dict[str, str] = {
    "new": N_("New"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "pending": N_("Waiting on requester"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
OPEN_STATUSES = ("new", "assigned", "in_progress", "pending")
DONE_STATUSES = ("resolved", "closed")

# A resolved or closed ticket goes back to work by "reopen", which lands in in_progress.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "in_progress", "pending", "resolved", "closed"),
    "assigned": ("new", "in_progress", "pending", "resolved", "closed"),
    "in_progress": ("assigned", "pending", "resolved", "closed"),
    "pending": ("assigned", "in_progress", "resolved", "closed"),
    "resolved": ("closed", "in_progress"),
    "closed": ("in_progress",),
}

PRIORITIES: dict[str, str] = {"low": N_("Low"), "normal": N_("Medium"), "high": N_("High"), "urgent": N_("Urgent")}
PRIORITY_WEIGHT = {"low": 1, "normal": 2, "high": 3, "urgent": 4}

CHANNELS: dict[str, str] = {
    "web": N_("Web form"),
    "phone": N_("Phone"),
    "wechat": N_("WeChat"),
    "email": N_("Email"),
    "api": N_("API"),
    "walk_in": N_("Walk-in"),
    "internal": N_("Internal"),
}
REQUESTER_KINDS: dict[str, str] = {
    "guardian": N_("Parent"),
    "student": N_("Student"),
    "lead": N_("Lead"),
    "staff": N_("Staff"),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, ())


def is_reopen(current: str, target: str) -> bool:
    return current in DONE_STATUSES and target in OPEN_STATUSES
