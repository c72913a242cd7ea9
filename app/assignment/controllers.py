"""/admin/assignment: per-type mode, skill kinds and team; each person's skills and shifts. Admins only."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.assignment import admin, rules
from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import ValidationFailed
from app.core.permissions import ROLES
from app.core.web import page
from tables.accounts.tables import Team

INDEX = "assignment/index.html"
STAFF = "assignment/staff.html"


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _index_context(
    errors: dict | None = None, failed_type: int | None = None, values: dict | None = None
) -> dict:
    return {
        "settings": await admin.type_settings(),
        "staff": await admin.staff_overview(),
        "modes": rules.MODES,
        "kinds": rules.SKILL_KINDS,
        "roles": ROLES,
        "errors": errors or {},
        "failed_type": failed_type,
        "values": values or {},
        "teams": await Team.select(Team.id, Team.name, Team.campus.name.as_alias("campus_name")).order_by(Team.id),
        "choices": await admin.skill_choices(),
    }


class AssignmentAdminController(Controller):
    path = "/admin/assignment"
    guards = [require_roles("admin")]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, INDEX, **await _index_context())

    @post("/types/{type_id:int}")
    async def save_type(self, request: Request, user: AuthUser, type_id: FromPath[int]) -> Response:
        form = await request.form()
        values = {
            "mode": form.get("mode", ""),
            "skill_kinds": form.getall("skill_kinds", []),
            "team": form.get("team", ""),
        }
        try:
            await admin.save_type_setting(user, type_id, values["mode"], values["skill_kinds"], values["team"])
        except ValidationFailed as exc:
            context = await _index_context(exc.by_field(), type_id, values)
            return await page(request, INDEX, status_code=422, **context)
        return _redirect(request, f"/admin/assignment?saved=type-{type_id}#type-{type_id}")

    @get("/staff/{user_id:int}")
    async def staff(self, request: Request, user_id: FromPath[int]) -> Response:
        profile = await admin.staff_profile(user_id)
        return await page(
            request,
            STAFF,
            person=profile,
            values=profile,
            errors={},
            choices=await admin.skill_choices(),
            kinds=rules.SKILL_KINDS,
            weekdays=admin.WEEKDAYS,
            roles=ROLES,
        )

    @post("/staff/{user_id:int}")
    async def save_staff(self, request: Request, user: AuthUser, user_id: FromPath[int]) -> Response:
        form = await request.form()
        skills = {
            kind: [v for v in form.getall(f"skills_{kind}", []) if isinstance(v, str)] for kind in rules.SKILL_KINDS
        }
        extra = str(form.get("skills_subject_other", "") or "")
        skills["subject"] += [w for w in extra.replace("，", ",").split(",") if w.strip()]
        shifts = {d: str(form.get(f"shifts_{d}", "") or "") for d in range(7)}
        try:
            await admin.save_staff_profile(user, user_id, skills, shifts)
        except ValidationFailed as exc:
            profile = await admin.staff_profile(user_id)
            values = {**profile, "skills": skills, "shifts": shifts, "subject_other": extra}
            return await page(
                request,
                STAFF,
                status_code=422,
                person=profile,
                values=values,
                errors=exc.by_field(),
                choices=await admin.skill_choices(),
                kinds=rules.SKILL_KINDS,
                weekdays=admin.WEEKDAYS,
                roles=ROLES,
            )
        return _redirect(request, f"/admin/assignment/staff/{user_id}?saved=1")
