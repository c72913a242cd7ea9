"""Administration of assignment: per-type settings, staff skills and shifts. Admins only."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from app.assignment import presence, rules
from app.assignment.services import DEFAULT_KINDS
from app.core import audit
from app.core.db import UnitOfWork
from app.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from app.core.forms import parse_int
from app.core.i18n import N_
from app.core.permissions import CurrentUser
from app.tickets.types.defaults import SUBJECTS
from tables.accounts.tables import Campus, Team, User
from tables.assignment.tables import AssignmentSetting, StaffShift, StaffSkill
from tables.tickets.tables import TicketType

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})$")


def require_admin(actor: CurrentUser) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators can change assignment settings.")


# -- ticket types -------------------------------------------------------------------------------


async def type_settings() -> list[dict]:
    """Every ticket type with its setting (the default one when none is saved)."""
    types = (
        await TicketType.select(TicketType.id, TicketType.code, TicketType.name, TicketType.team, TicketType.is_active)
        .order_by(TicketType.sort_order)
        .order_by(TicketType.id)
    )
    saved = {r["ticket_type"]: r for r in await AssignmentSetting.select().output(load_json=True)}
    rows = []
    for t in types:
        s = saved.get(t["id"])
        rows.append(
            {
                **t,
                "mode": s["mode"] if s else "auto",
                "skill_kinds": list(s["skill_kinds"]) if s else list(DEFAULT_KINDS),
                "setting_team": s["team"] if s else t["team"],
            }
        )
    return rows


async def save_type_setting(actor: CurrentUser, type_id: int, mode: str, kinds: Iterable[str], team: str) -> dict:
    require_admin(actor)
    if not await TicketType.exists().where(TicketType.id == type_id):
        raise NotFound("This ticket type does not exist.")
    errors = []
    if mode not in rules.MODES:
        errors.append(FieldError("mode", "Choose one of the listed options."))
    kinds = sorted(set(kinds))
    if any(k not in rules.SKILL_KINDS for k in kinds):
        errors.append(FieldError("skill_kinds", "Choose one of the listed options."))
    team_id = parse_int(team)
    if str(team or "") not in ("", str(team_id)) or (
        team_id is not None and not await Team.exists().where(Team.id == team_id)
    ):
        errors.append(FieldError("team", "Unknown team."))
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(UTC)
    async with UnitOfWork():
        old = (
            await AssignmentSetting.select()
            .where(AssignmentSetting.ticket_type == type_id)
            .first()
            .output(load_json=True)
        )
        new = {"mode": mode, "skill_kinds": kinds, "team": team_id}
        if old is None:
            await AssignmentSetting.insert(AssignmentSetting(ticket_type=type_id, updated_at=now, **new))
            before = {"mode": "auto", "skill_kinds": list(DEFAULT_KINDS), "team": None}
        else:
            await AssignmentSetting.update(
                {
                    AssignmentSetting.mode: mode,
                    AssignmentSetting.skill_kinds: kinds,
                    AssignmentSetting.team: team_id,
                    AssignmentSetting.updated_at: now,
                }
            ).where(AssignmentSetting.id == old["id"])
            before = {k: old[k] for k in new}
        changes = {k: [before[k], v] for k, v in new.items() if before[k] != v}
        if changes:
            await audit.record(
                actor_id=actor.id, action="update", entity_type="assignment_setting", entity_id=type_id, changes=changes
            )
    return new


# -- staff --------------------------------------------------------------------------------------


def format_shifts(rows: list[tuple[int, int]]) -> str:
    return ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in sorted(rows))


def parse_shifts(text: str, field: str) -> tuple[list[tuple[int, int]], list[FieldError]]:
    """ "09:00-12:00, 13:30-18:00" → [(540, 720), (810, 1080)]; 24:00 ends a day."""
    shifts: list[tuple[int, int]] = []
    for part in [p.strip() for p in re.split(r"[,，;；]", text or "") if p.strip()]:
        match = _RANGE.match(part)
        if not match:
            return [], [FieldError(field, "Write times like 09:00-12:00, 13:30-18:00.")]
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or end > 1440 or start >= end:
            return [], [FieldError(field, "Each shift must end after it starts, within the day.")]
        shifts.append((start, end))
    shifts.sort()
    if any(a[1] > b[0] for a, b in zip(shifts, shifts[1:])):
        return [], [FieldError(field, "Shifts on the same day must not overlap.")]
    return shifts, []


async def staff_overview() -> list[dict]:
    """Active staff with their skills, shifts and whether they are online (three queries, one Redis call)."""
    people = (
        await User.select(
            User.id, User.display_name, User.username, User.role, User.campus.name.as_alias("campus_name")
        )
        .where(User.is_active.eq(True))
        .order_by(User.id)
    )
    skills: dict[int, dict[str, list[str]]] = {}
    for r in await StaffSkill.select(StaffSkill.user, StaffSkill.kind, StaffSkill.value).order_by(StaffSkill.id):
        skills.setdefault(r["user"], {}).setdefault(r["kind"], []).append(r["value"])
    shifts: dict[int, int] = {}
    for r in await StaffShift.select(StaffShift.user):
        shifts[r["user"]] = shifts.get(r["user"], 0) + 1
    online = await presence.online_user_ids()
    return [
        {**p, "skills": skills.get(p["id"], {}), "shift_count": shifts.get(p["id"], 0), "online": p["id"] in online}
        for p in people
    ]


async def skill_choices() -> dict[str, list[tuple[str, str]]]:
    """What each skill kind can be: subjects, ticket types, languages, campuses (value, label)."""
    from app.core.i18n import gettext

    types = (
        await TicketType.select(TicketType.code, TicketType.name)
        .order_by(TicketType.sort_order)
        .order_by(TicketType.id)
    )
    campuses = await Campus.select(Campus.id, Campus.name).order_by(Campus.id)
    used = await StaffSkill.select(StaffSkill.value).where(StaffSkill.kind == "subject").distinct()
    subjects = list(dict.fromkeys([*SUBJECTS, *sorted(r["value"] for r in used)]))
    return {
        "subject": [(s, s) for s in subjects],
        "type": [(t["code"], t["name"]) for t in types],
        "language": [(k, gettext(v)) for k, v in rules.LANGUAGES.items()],
        "campus": [(str(c["id"]), c["name"]) for c in campuses],
    }


async def staff_profile(user_id: int) -> dict:
    person = (
        await User.select(
            User.id,
            User.display_name,
            User.username,
            User.role,
            User.is_active,
            User.campus.name.as_alias("campus_name"),
        )
        .where(User.id == user_id)
        .first()
    )
    if person is None:
        raise NotFound("This person does not exist.")
    skills: dict[str, list[str]] = {k: [] for k in rules.SKILL_KINDS}
    for r in await StaffSkill.select(StaffSkill.kind, StaffSkill.value).where(StaffSkill.user == user_id):
        skills.setdefault(r["kind"], []).append(r["value"])
    by_day: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
    for r in await StaffShift.select().where(StaffShift.user == user_id):
        by_day.setdefault(r["weekday"], []).append((r["start_minute"], r["end_minute"]))
    return {**person, "skills": skills, "shifts": {d: format_shifts(v) for d, v in by_day.items()}}


async def save_staff_profile(
    actor: CurrentUser, user_id: int, skills: dict[str, list[str]], shift_text: dict[int, str]
) -> dict:
    """Replace a person's skills and shifts. Values must be among the offered choices (subjects
    may be new words); shifts are "HH:MM-HH:MM" ranges per weekday."""
    require_admin(actor)
    before = await staff_profile(user_id)
    choices = await skill_choices()
    errors: list[FieldError] = []
    clean: set[tuple[str, str]] = set()
    for kind, values in skills.items():
        if kind not in rules.SKILL_KINDS:
            errors.append(FieldError(f"skills_{kind}", "Choose one of the listed options."))
            continue
        allowed = {v for v, _ in choices[kind]}
        for value in {v.strip() for v in values if v and v.strip()}:
            if (kind == "subject" and len(value) <= 30) or value in allowed:
                clean.add((kind, value))
            else:
                errors.append(FieldError(f"skills_{kind}", "Choose one of the listed options."))
    shifts: list[tuple[int, int, int]] = []
    for day in range(7):
        parsed, shift_errors = parse_shifts(shift_text.get(day, ""), f"shifts_{day}")
        errors += shift_errors
        shifts += [(day, s, e) for s, e in parsed]
    if errors:
        raise ValidationFailed(errors)
    async with UnitOfWork():
        await StaffSkill.delete().where(StaffSkill.user == user_id)
        if clean:
            await StaffSkill.insert(*[StaffSkill(user=user_id, kind=k, value=v) for k, v in sorted(clean)])
        await StaffShift.delete().where(StaffShift.user == user_id)
        if shifts:
            await StaffShift.insert(
                *[StaffShift(user=user_id, weekday=d, start_minute=s, end_minute=e) for d, s, e in shifts]
            )
        after_skills = {k: sorted(v for kk, v in clean if kk == k) for k in rules.SKILL_KINDS}
        after_shifts = {d: format_shifts([(s, e) for dd, s, e in shifts if dd == d]) for d in range(7)}
        changes = {
            f"skills.{k}": [sorted(before["skills"].get(k, [])), after_skills[k]]
            for k in rules.SKILL_KINDS
            if sorted(before["skills"].get(k, [])) != after_skills[k]
        }
        changes.update(
            {
                f"shifts.{d}": [before["shifts"][d], after_shifts[d]]
                for d in range(7)
                if before["shifts"][d] != after_shifts[d]
            }
        )
        if changes:
            await audit.record(
                actor_id=actor.id, action="update", entity_type="staff_assignment", entity_id=user_id, changes=changes
            )
    return {"skills": after_skills, "shifts": after_shifts}
