"""Export of the lead list as the user filtered it: the same WHERE as the page, read in batches.

Phone numbers go out as the list shows them to this user (app/leads/phones.py: in full for those
who may see them, masked otherwise). Headers are the field labels in the user's language, which the
importer also recognises, so an exported file imports again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.core.i18n import gettext
from app.core.permissions import CurrentUser
from app.core.templates import _localtime
from app.leads import phones, services
from tables.leads.tables import Lead

BATCH = 1000
FIELDS = (
    "student_name",
    "guardian_name",
    "phone",
    "phones",
    "email",
    "wechat",
    "city",
    "district",
    "grade",
    "course_interests",
    "source",
    "source_campaign",
    "status",
    "invalid_reason",
    "owner",
    "campus",
    "note",
    "next_follow_up_on",
)
COLUMNS = (
    Lead.id,
    Lead.student_name,
    Lead.guardian_name,
    Lead.phone,
    Lead.phones,
    Lead.email,
    Lead.wechat,
    Lead.city,
    Lead.district,
    Lead.grade,
    Lead.course_interests,
    Lead.source,
    Lead.source_campaign,
    Lead.status,
    Lead.invalid_reason,
    Lead.owner,
    Lead.owner.display_name.as_alias("owner_name"),
    Lead.campus.name.as_alias("campus_name"),
    Lead.note,
    Lead.next_follow_up_on,
    Lead.created_at,
)


def headers() -> list[str]:
    return ["ID", *(gettext(services.FIELD_LABELS[f]) for f in FIELDS), gettext("Created")]


def _cells(lead: dict) -> list:
    choices = {"status": services.STATUSES, "source": services.SOURCES}
    out: list = [lead["id"]]
    for field in FIELDS:
        if field == "owner":
            value = lead["owner_name"] or ""
        elif field == "campus":
            value = lead["campus_name"] or ""
        else:
            value = lead[field]
        if field in choices and value in choices[field]:
            value = gettext(choices[field][value])
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out.append("" if value is None else value)
    out.append(_localtime(lead["created_at"]))
    return out


async def export_rows(user: CurrentUser, filters: services.LeadFilter) -> AsyncIterator[list]:
    """Rows of the filtered list, newest first like the page, `BATCH` at a time (keyset on id)."""
    where = await services.filtered_where(user, filters)
    last: int | None = None
    while True:
        query = Lead.select(*COLUMNS).where(where if last is None else where & (Lead.id < last))
        batch = await query.order_by(Lead.id, ascending=False).limit(BATCH).output(load_json=True)
        for lead in phones.present_leads(user, batch):
            yield _cells(lead)
        if len(batch) < BATCH:
            return
        last = batch[-1]["id"]
