"""A student's family numbers as a user may see them: the lead rule (app/leads/phones.py) with the
student's own people, its advisor and class teacher, in place of a lead's owner."""

from __future__ import annotations

from app.core.permissions import CurrentUser
from app.leads.phones import mask_phone, present_changes, sees_full


def sees_numbers(user: CurrentUser, student: dict) -> bool:
    return sees_full(user, student.get("advisor"), student.get("class_teacher"))


def present_student(user: CurrentUser, student: dict) -> dict:
    """A copy with `guardian_phone` and `phones` masked (138****8000) unless the user sees them in full."""
    if sees_numbers(user, student):
        return {**student, "phone_masked": False}
    out = {**student, "phone_masked": True}
    if "guardian_phone" in out:
        out["guardian_phone"] = mask_phone(out["guardian_phone"] or "")
    if "phones" in out:
        out["phones"] = [mask_phone(p) for p in out["phones"] or []]
    return out


def present_timeline(user: CurrentUser, student: dict, items: list[dict]) -> list[dict]:
    """Timeline audit entries with the numbers in their changes masked like the student's."""
    if sees_numbers(user, student):
        return items
    return present_changes(user, None, items)
