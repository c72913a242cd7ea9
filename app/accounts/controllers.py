"""Login, logout, the user's own account page (password, language, API tokens)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import ClientRefresh
from litestar.response import Redirect, Response

from app.accounts import services, sessions
from app.core.auth import client_ip
from app.core.deps import AuthUser, OptionalUser
from app.core.errors import Throttled, ValidationFailed
from app.core.forms import form_data, safe_next
from app.core.i18n import LOCALE_COOKIE
from app.core.web import page
from app.settings import get_settings
from tables.accounts.tables import ApiToken, Campus, Team

ONE_YEAR = 365 * 24 * 3600


# Where a login lands unless it was sent elsewhere: the pending-tickets workbench (issue 3).
HOME = "/workbench"


class AuthController(Controller):
    include_in_schema = False

    @get("/login", opt={"public": True})
    async def login_form(self, request: Request, optional_user: OptionalUser, next: FromQuery[str] = "") -> Response:
        if optional_user:
            return Redirect(safe_next(next, HOME))
        return await page(request, "accounts/login.html", next=safe_next(next, HOME), values={}, errors={}, detail="")

    @post("/login", opt={"public": True})
    async def login(self, request: Request) -> Response:
        data = await form_data(request)
        next_url = safe_next(data.get("next"), HOME)
        try:
            user = await services.authenticate(data.get("username", ""), data.get("password", ""), client_ip(request))
        except (ValidationFailed, Throttled) as exc:
            errors = exc.by_field() if isinstance(exc, ValidationFailed) else {}
            return await page(
                request,
                "accounts/login.html",
                status_code=exc.status_code,
                next=next_url,
                values={"username": data.get("username", "")},
                errors=errors,
                detail=exc.detail,
            )
        session_id = await sessions.start_session(user.id)
        response = Redirect(next_url)
        cfg = get_settings().auth
        response.set_cookie(
            sessions.SESSION_COOKIE,
            session_id,
            max_age=cfg.session_max_age,
            httponly=True,
            samesite="lax",
            secure=cfg.cookie_secure,
        )
        if user.locale:
            response.set_cookie(LOCALE_COOKIE, user.locale, max_age=ONE_YEAR, samesite="lax")
        return response

    @post("/logout")
    async def logout(self, request: Request) -> Response:
        await sessions.end_session(request.cookies.get(sessions.SESSION_COOKIE))
        response = Redirect("/login")
        response.delete_cookie(sessions.SESSION_COOKIE)
        return response

    @post("/lang", opt={"public": True})
    async def switch_language(self, request: Request, optional_user: OptionalUser) -> Response:
        data = await form_data(request)
        locale = data.get("locale", "")
        if locale not in get_settings().locales:
            raise ValidationFailed.one("locale", "Unknown language.")
        if optional_user:
            await services.set_locale(optional_user, locale)
        response: Response = ClientRefresh() if request.htmx else Redirect(safe_next(data.get("next")))
        response.set_cookie(LOCALE_COOKIE, locale, max_age=ONE_YEAR, samesite="lax")
        return response


async def _account_context(user) -> dict:
    tokens = (
        await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.prefix, ApiToken.created_at, ApiToken.last_used_at)
        .where((ApiToken.user == user.id) & ApiToken.revoked_at.is_null())
        .order_by(ApiToken.id, ascending=False)
    )
    team = await Team.select(Team.name).where(Team.id == user.team_id).first() if user.team_id else None
    campus = await Campus.select(Campus.name).where(Campus.id == user.campus_id).first() if user.campus_id else None
    return {
        "tokens": tokens,
        "team_name": team["name"] if team else "",
        "campus_name": campus["name"] if campus else "",
    }


class AccountController(Controller):
    path = "/account"
    include_in_schema = False

    @get("/")
    async def account(self, request: Request, user: AuthUser) -> Response:
        return await page(
            request, "accounts/account.html", errors={}, saved=False, new_token=None, **await _account_context(user)
        )

    @post("/password")
    async def change_password(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            await services.change_password(
                user, data.get("current_password", ""), data.get("new_password", ""), data.get("confirm_password", "")
            )
        except ValidationFailed as exc:
            return await page(
                request, "accounts/password_form.html", status_code=422, errors=exc.by_field(), saved=False
            )
        await sessions.end_other_sessions(user.id, keep=request.cookies.get(sessions.SESSION_COOKIE))
        return await page(request, "accounts/password_form.html", errors={}, saved=True)

    @post("/tokens")
    async def create_token(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        name = data.get("name", "").strip()
        if not name or len(name) > 100:
            ctx = await _account_context(user)
            return await page(
                request,
                "accounts/tokens.html",
                status_code=422,
                errors={"name": "Give the token a name of at most 100 characters."},
                new_token=None,
                **ctx,
            )
        token = await services.issue_api_token(user, name)
        ctx = await _account_context(user)
        return await page(request, "accounts/tokens.html", errors={}, new_token=token, **ctx)

    @post("/tokens/{token_id:int}/revoke")
    async def revoke_token(self, request: Request, user: AuthUser, token_id: FromPath[int]) -> Response:
        if not await services.revoke_api_token(user, token_id):
            from app.core.errors import NotFound

            raise NotFound()
        ctx = await _account_context(user)
        return await page(request, "accounts/tokens.html", errors={}, new_token=None, **ctx)
