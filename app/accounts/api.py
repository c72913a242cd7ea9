"""REST: obtain an API token; who am I."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from app.accounts import services
from app.core.api import ERRORS, error_responses
from app.core.auth import client_ip
from app.core.deps import AuthUser
from app.core.errors import Unauthenticated


class TokenRequest(msgspec.Struct):
    username: str
    password: str
    name: str = "api"


class TokenResponse(msgspec.Struct):
    token: str


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    campus_id: int | None


class AuthApi(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", opt={"public": True}, status_code=200, responses=error_responses(400, 401, 422, 429))
    async def obtain_token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenResponse:
        """Exchange a username and password for a bearer token (send it as `Authorization: Bearer …`).
        Wrong credentials answer 401; an empty username or password 422; too many failures 429."""
        try:
            user = await services.authenticate(data.username, data.password, client_ip(request))
        except services.WrongCredentials as exc:
            raise Unauthenticated(exc.detail, exc.errors) from None
        token = await services.issue_api_token(user, (data.name or "api")[:100])
        return TokenResponse(token=token)

    @get("/me", responses=ERRORS)
    async def me(self, user: AuthUser) -> Me:
        u = user
        return Me(u.id, u.username, u.display_name, u.role, u.team_id, u.campus_id)
