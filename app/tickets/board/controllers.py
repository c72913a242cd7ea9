"""Board pages: the Kanban board, "load more", moving a card, the wall display and its tokens.

The board's filters come from the URL, the move form and the socket alike, so they are read as a
whole mapping by `BoardQuery.parse` (one parser, one set of field errors) instead of one
parameter per filter.
"""

from __future__ import annotations

from litestar import Controller, MediaType, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.core.auth import require_roles
from app.core.deps import AuthUser
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.forms import form_data, optional_int, parse_int
from app.core.i18n import N_
from app.core.i18n import gettext as _
from app.core.web import page
from app.tickets.board import columns as board
from app.tickets.board import displays
from app.tickets.board.columns import BoardQuery
from app.tickets.board.realtime import BoardSubscription, change_html
from tables.accounts.tables import Campus

admin_only = [require_roles("admin")]
STALE_MOVE = N_(
    "Someone changed this ticket just before you. The card now shows their change; try again if it still needs moving."
)


def _html(body: str, status_code: int = 200) -> Response:
    return Response(body, media_type=MediaType.HTML, status_code=status_code)


def _refusal(exc: DomainError) -> str:
    if isinstance(exc, Conflict):
        return _(STALE_MOVE)
    if exc.errors:
        return " ".join(_(e.message) for e in exc.errors)
    return _(exc.detail)


class BoardController(Controller):
    path = "/board"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request, user: AuthUser) -> Response:
        query = BoardQuery.parse(request.query_params)
        shown = await board.load_board(user, query)
        return await page(
            request,
            "board/index.html",
            board=shown,
            query=query,
            group=query.group,
            readonly=False,
            choices=await board.filter_choices(),
        )

    @get("/column")
    async def column(
        self, request: Request, user: AuthUser, key: FromQuery[str] = "", offset: FromQuery[str] = "0"
    ) -> Response:
        """The next cards of one column; the page counts the cards it has to give the offset."""
        query = BoardQuery.parse(request.query_params)
        start = parse_int(offset)
        if start is None:
            raise ValidationFailed.one("offset", N_("Must be a whole number of 0 or more."))
        cards, count = await board.load_column(user, query, key, start)
        sub = await BoardSubscription.heads(user, query)
        column = next((c for c in sub.columns if c.key == key), None) or board.Column(query.group, key, key)
        column.count = count
        return await page(
            request,
            "board/more.html",
            cards=cards,
            column=column,
            columns=sub.columns,
            group=query.group,
            readonly=False,
        )

    @post("/move")
    async def move(self, request: Request, user: AuthUser) -> Response:
        """Drop a card on a column (drag and drop, or the card's "move to" menu).

        Success answers the card in its new column and fresh counts; a refusal answers 4xx with
        the reason and the card as it really is, and the page puts the dragged card back.
        """
        data = await form_data(request)
        query = BoardQuery.parse(data)
        ticket_id = optional_int(data, "id")
        if ticket_id is None:
            raise ValidationFailed.one("id", N_("Unknown record."))
        sub = await BoardSubscription.heads(user, query)
        try:
            await board.move_card(user, ticket_id, data.get("to", ""), optional_int(data, "version"))
        except (ValidationFailed, Conflict, Forbidden, NotFound) as exc:
            # Refused as it stands: put the card back as it is. Changed meanwhile (409) or gone:
            # take it out and show it where it really is now, if anywhere.
            moved_on = isinstance(exc, (Conflict, NotFound))
            body = await change_html(
                user, sub, ticket_id, remove=moved_on, in_place=not moved_on, message=_refusal(exc)
            )
            return _html(body or "", exc.status_code)
        body = await change_html(user, sub, ticket_id, remove=True)
        return _html(body or "")

    @get("/display", opt={"public": True})
    async def display(self, request: Request, token: FromQuery[str] = "") -> Response:
        """The read-only wall display, opened by its token instead of a login."""
        found = await displays.verify_token(token)
        if found is None:
            raise Forbidden(
                N_("This display link is not valid or has been revoked. Ask an administrator for a new one.")
            )
        query = BoardQuery(campus=found["campus"])
        shown = await board.load_board(displays.viewer_for(found), query)
        response = await page(
            request, "board/display.html", display=found, token=token, board=shown, group="status", readonly=True
        )
        response.headers.update({"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
        return response


class DisplayAdminController(Controller):
    path = "/board/displays"
    guards = admin_only
    include_in_schema = False

    async def _render(self, request: Request, status_code: int = 200, **context) -> Response:
        campuses = await Campus.select(Campus.id, Campus.name).order_by(Campus.id)
        context = {"values": {}, "errors": {}, "detail": "", "new_token": None, "new_display": None, **context}
        return await page(
            request,
            "board/displays.html",
            status_code=status_code,
            displays=await displays.list_displays(),
            campus_options=[(c["id"], c["name"]) for c in campuses],
            **context,
        )

    @get("/")
    async def index(self, request: Request) -> Response:
        return await self._render(request)

    @post("/")
    async def create(self, request: Request, user: AuthUser) -> Response:
        data = await form_data(request)
        try:
            created, token = await displays.create_display(user, data.get("name", ""), data.get("campus"))
        except ValidationFailed as exc:
            return await self._render(request, 422, values=data, errors=exc.by_field(), detail=exc.detail)
        # The only time the token exists outside the TV: shown once, never stored in clear.
        return await self._render(request, new_token=token, new_display=created)

    @post("/{display_id:int}/revoke")
    async def revoke(self, request: Request, user: AuthUser, display_id: FromPath[int]) -> Response:
        await displays.revoke_display(user, display_id)
        return await self._render(request)
