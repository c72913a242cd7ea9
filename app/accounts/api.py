"""REST: obtain an API token; who am I."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from app.accounts import services
from app.core.auth import client_ip
from app.core.deps import AuthUser


@dataclass
class TokenRequest:
    username: str
    password: str
    name: str = "api"


@dataclass
class TokenResponse:
    token: str


@dataclass
class Me:
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    campus_id: int | None


class AuthApi(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", opt={"public": True}, status_code=200)
    async def obtain_token(self, request: Request, data: JSONBody[TokenRequest]) -> TokenResponse:
        """Exchange a username and password for a bearer token (send it as `Authorization: Bearer …`)."""
        user = await services.authenticate(data.username, data.password, client_ip(request))
        token = await services.issue_api_token(user, (data.name or "api")[:100])
        return TokenResponse(token=token)

    @get("/me")
    async def me(self, user: AuthUser) -> Me:
        u = user
        return Me(u.id, u.username, u.display_name, u.role, u.team_id, u.campus_id)
