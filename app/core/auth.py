"""Authentication: Bearer tokens for /api, Redis-backed sessions for pages and /ws; guards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.core.i18n import N_
from app.core.permissions import CurrentUser

PUBLIC_PREFIXES = ("/static/", "/schema", "/healthz", "/favicon.ico")


@dataclass(frozen=True)
class UserSource:
    """Where users come from: the accounts domain registers it (app/wiring.py), so the core
    imports no domain."""

    session_cookie: str
    session_user_id: Callable[[str | None], Awaitable[int | None]]
    load_user: Callable[[int], Awaitable[CurrentUser | None]]
    user_for_token: Callable[[str], Awaitable[CurrentUser | None]]


_source: UserSource | None = None


def use_user_source(source: UserSource) -> None:
    global _source
    _source = source


def user_source() -> UserSource:
    if _source is None:
        raise RuntimeError("no user source registered: call app.wiring.wire() at start-up")
    return _source


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        if connection.scope["path"].startswith("/api/"):
            # The API takes bearer tokens only: accepting the session cookie there would
            # open the JSON endpoints to cross-site requests that CSRF checks do not cover.
            header = connection.headers.get("authorization", "")
            scheme, _sep, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                user = await user_source().user_for_token(token.strip())
                return AuthenticationResult(user=user, auth="token" if user else None)
            return AuthenticationResult(user=None, auth=None)
        source = user_source()
        session_id = connection.cookies.get(source.session_cookie)
        user_id = await source.session_user_id(session_id)
        user = await source.load_user(user_id) if user_id else None
        return AuthenticationResult(user=user, auth=session_id if user else None)


def current_user(connection: ASGIConnection) -> CurrentUser | None:
    return connection.scope.get("user")


def require_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """App-wide guard: every handler needs a user unless it says `opt={"public": True}`."""
    if handler.opt.get("public") or connection.scope["path"].startswith(PUBLIC_PREFIXES):
        return
    if current_user(connection) is None:
        raise NotAuthorizedException("Please log in.")


def require_roles(*roles: str):
    def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        user = current_user(connection)
        if user is None:
            raise NotAuthorizedException("Please log in.")
        if user.role not in roles:
            raise PermissionDeniedException(N_("You do not have permission to do this."))

    return guard


def client_ip(connection: ASGIConnection) -> str:
    client = connection.scope.get("client")
    return client[0] if client else ""
