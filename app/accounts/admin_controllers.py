"""Administration pages: staff, teams, campuses. Admins only, enforced by the guard."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Response

from app.accounts import org, services, staff
from app.core import audit
from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import NotFound, ValidationFailed
from app.core.forms import form_data, optional_int, parse_int
from app.core.pagination import PageRequest
from app.core.permissions import CurrentUser
from app.core.web import page
from tables.accounts.tables import Campus, Team, User

admin_only = [require_roles("admin")]


def _redirect(request: Request, url: str) -> Response:
    return ClientRedirect(url) if request.htmx else Redirect(url)


async def _choices() -> dict:
    return {
        "teams": await Team.select(Team.id, Team.name, Team.campus.name.as_alias("campus_name")).order_by(Team.id),
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
    }


@get("/admin", guards=admin_only, include_in_schema=False)
async def admin_home(request: Request) -> Response:
    """/admin typed by hand: the first administration page (its tabs lead to the others)."""
    return _redirect(request, "/admin/staff")


class StaffAdminController(Controller):
    path = "/admin/staff"
    guards = admin_only
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request,
        user: AuthUser,
        q: FromQuery[str] = "",
        role: FromQuery[str] = "",
        team: FromQuery[str] = "",
        active: FromQuery[str] = "1",
        limit: FromQuery[str] = "",
        offset: FromQuery[str] = "",
    ) -> Response:
        filters = staff.StaffFilter(q=q, role=role, team=parse_int(team), active=active)
        result = await staff.list_staff(user, filters, PageRequest.parse(limit, offset))
        return await page(request, "admin/staff_list.html", page_data=result, filters=filters, **await _choices())

    @get("/new")
    async def new(self, request: Request) -> Response:
        return await page(
            request,
            "admin/staff_form.html",
            member=None,
            values={"is_active": True, "role": "advisor"},
            errors={},
            **await _choices(),
        )

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            staff_id = await services.create_user(
                username=data.get("username", ""),
                password=data.get("password", ""),
                role=data.get("role", ""),
                display_name=data.get("display_name", ""),
                email=data.get("email", ""),
                phone=data.get("phone", ""),
                campus_id=optional_int(data, "campus"),
                team_id=optional_int(data, "team"),
                actor_id=user.id,
            )
        except ValidationFailed as exc:
            return await page(
                request,
                "admin/staff_form.html",
                status_code=422,
                member=None,
                values=data,
                errors=exc.by_field(),
                **await _choices(),
            )
        return _redirect(request, f"/admin/staff/{staff_id}")

    @get("/{staff_id:int}")
    async def edit(self, request: Request, user: AuthUser, staff_id: FromPath[int]) -> Response:
        member = await staff.get_staff(user, staff_id)
        return await page(
            request,
            "admin/staff_form.html",
            member=member,
            values=member,
            errors={},
            entries=await audit.history("user", staff_id),
            **await _choices(),
        )

    @post("/{staff_id:int}")
    async def update(self, request: Request, user: AuthUser, staff_id: FromPath[int]) -> Response:
        data = await form_data(request)
        try:
            await staff.update_staff(user, staff_id, data)
        except ValidationFailed as exc:
            member = await staff.get_staff(user, staff_id)
            return await page(
                request,
                "admin/staff_form.html",
                status_code=422,
                member=member,
                values={**member, **data, "is_active": data.get("is_active") == "1"},
                errors=exc.by_field(),
                entries=await audit.history("user", staff_id),
                **await _choices(),
            )
        return _redirect(request, f"/admin/staff/{staff_id}?saved=1")

    @post("/{staff_id:int}/password")
    async def reset_password(self, request: Request, user: AuthUser, staff_id: FromPath[int]) -> Response:
        data = await form_data(request)
        try:
            await staff.reset_password(user, staff_id, data.get("new_password", ""))
        except ValidationFailed as exc:
            return await page(
                request,
                "admin/password_reset.html",
                status_code=422,
                staff_id=staff_id,
                errors=exc.by_field(),
                done=False,
            )
        return await page(request, "admin/password_reset.html", staff_id=staff_id, errors={}, done=True)


async def _team_context() -> dict:
    return {
        "teams": await org.list_teams(),
        "campuses": await Campus.select(Campus.id, Campus.name).order_by(Campus.id),
        "people": await User.select(User.id, User.display_name, User.role)
        .where(User.is_active.eq(True))
        .order_by(User.display_name),
    }


class TeamAdminController(Controller):
    path = "/admin/teams"
    guards = admin_only
    include_in_schema = False

    @get("/")
    async def index(self, request: Request) -> Response:
        return await page(request, "admin/teams.html", team=None, values={}, errors={}, **await _team_context())

    @get("/{team_id:int}")
    async def edit(self, request: Request, team_id: FromPath[int]) -> Response:
        team = await Team.select().where(Team.id == team_id).first()
        if team is None:
            raise NotFound()
        return await page(
            request,
            "admin/teams.html",
            team=team,
            values=team,
            errors={},
            entries=await audit.history("team", team_id),
            **await _team_context(),
        )

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        return await self._save(request, user, None)

    @post("/{team_id:int}")
    async def update(self, request: Request, user: AuthUser, team_id: FromPath[int]) -> Response:
        return await self._save(request, user, team_id)

    async def _save(self, request: Request, user: CurrentUser, team_id: int | None) -> Response:
        data = await form_data(request)
        try:
            await org.save_team(user, data, team_id)
        except ValidationFailed as exc:
            team = await Team.select().where(Team.id == team_id).first() if team_id else None
            return await page(
                request,
                "admin/teams.html",
                status_code=422,
                team=team,
                values=data,
                errors=exc.by_field(),
                entries=[],
                **await _team_context(),
            )
        return _redirect(request, "/admin/teams")


class CampusAdminController(Controller):
    path = "/admin/campuses"
    guards = admin_only
    include_in_schema = False

    async def _render(self, request: Request, campus=None, values=None, errors=None, status_code=200) -> Response:
        campuses = await Campus.select().order_by(Campus.id)
        return await page(
            request,
            "admin/campuses.html",
            status_code=status_code,
            campus=campus,
            values=values or {},
            errors=errors or {},
            campuses=campuses,
        )

    @get("/")
    async def index(self, request: Request) -> Response:
        return await self._render(request)

    @get("/{campus_id:int}")
    async def edit(self, request: Request, campus_id: FromPath[int]) -> Response:
        campus = await Campus.select().where(Campus.id == campus_id).first()
        if campus is None:
            raise NotFound()
        return await self._render(request, campus, campus)

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        return await self._save(request, user, None)

    @post("/{campus_id:int}")
    async def update(self, request: Request, user: AuthUser, campus_id: FromPath[int]) -> Response:
        return await self._save(request, user, campus_id)

    async def _save(self, request: Request, user: CurrentUser, campus_id: int | None) -> Response:
        data = await form_data(request)
        try:
            await org.save_campus(user, data, campus_id)
        except ValidationFailed as exc:
            campus = await Campus.select().where(Campus.id == campus_id).first() if campus_id else None
            return await self._render(request, campus, data, exc.by_field(), status_code=422)
        return _redirect(request, "/admin/campuses")
