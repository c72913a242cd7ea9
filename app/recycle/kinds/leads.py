"""Leads in the recycle bin: deleted ones, and ones merged into another lead (restoring undoes the merge)."""

from __future__ import annotations

from app.core.i18n import N_, gettext
from app.core.permissions import CurrentUser
from app.leads import phones, policy, services
from app.recycle.registry import RecycleKind, register
from tables.leads.tables import Lead


async def _visible(user: CurrentUser):
    if not policy.can_use_leads(user):
        return False
    return await policy.visibility_filter(user)


def _search(term: str):
    like = f"%{term}%"
    return Lead.student_name.ilike(like) | Lead.guardian_name.ilike(like) | Lead.phone.like(like)


async def _describe(user: CurrentUser, rows: list[dict]) -> None:
    for row in rows:
        shown = phones.present_lead(user, row)
        row["title"] = row["student_name"]
        row["subtitle"] = " · ".join(x for x in (row["guardian_name"], shown["phone"]) if x)
        if row["merged_into"] is not None:
            row["note"] = gettext(
                N_("Merged into “%(name)s” (#%(id)s)"), name=row["survivor_name"] or "", id=row["merged_into"]
            )
            row["restore_label"] = N_("Undo merge")


register(
    RecycleKind(
        name="lead",
        label=N_("Lead"),
        table=Lead,
        columns=(
            Lead.student_name,
            Lead.guardian_name,
            Lead.phone,
            Lead.owner,
            Lead.merged_into,
            Lead.merged_into.student_name.as_alias("survivor_name"),
        ),
        search=_search,
        visible=_visible,
        describe=_describe,
        restore=services.restore_lead,
        url=lambda i: f"/leads/{i}",
        delete_actions=("delete", "merge"),
    )
)
