"""The home page: a summary of what the user can see."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response

from app.core.deps import AuthUser
from app.core.web import page
from app.dashboard.services import summary


@get("/", include_in_schema=False)
async def dashboard(request: Request, user: AuthUser) -> Response:
    return await page(request, "dashboard/index.html", summary=await summary(user))
