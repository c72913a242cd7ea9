"""Litestar dependencies every handler may ask for, registered once on the app by create_app.

    async def show(self, request: Request, user: AuthUser, ticket_id: FromPath[int]) -> Response:

`user: AuthUser` is the signed-in user that AuthMiddleware put in the scope. `require_user` (the
app-wide guard) has already answered 401 to anonymous requests before any dependency resolves,
so on ordinary routes it is always there. Public routes (`opt={"public": True}`: the login page,
the language switch, the websocket) ask for `optional_user: OptionalUser` instead, which is None
for visitors. The parameter names must be exactly `user` and `optional_user`: Litestar injects by
name, and the `NamedDependency` annotation keeps them out of the OpenAPI query parameters.
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope

from app.core.permissions import CurrentUser

AuthUser: TypeAlias = NamedDependency[CurrentUser]
OptionalUser: TypeAlias = NamedDependency[CurrentUser | None]


def provide_user(scope: Scope) -> CurrentUser:
    user = scope.get("user")
    if user is None:  # only a public handler asking for `user` instead of `optional_user`
        raise NotAuthorizedException("Please log in.")
    return user


def provide_optional_user(scope: Scope) -> CurrentUser | None:
    return scope.get("user")


# `scope`, not `request`: the websocket handler gets the same dependencies.
USER_DEPENDENCIES = {
    "user": Provide(provide_user, sync_to_thread=False),
    "optional_user": Provide(provide_optional_user, sync_to_thread=False),
}
