"""Every route handler of the service desk, gathered once for create_app.

Importing the board's and the workbench's realtime modules registers their WebSocket renderers.
"""

from app.tickets.api.controllers import TicketApi, TicketTypeApi
from app.tickets.board import realtime as _board_pushes  # noqa: F401 - registers the live board and presence
from app.tickets.board.controllers import BoardController, DisplayAdminController
from app.tickets.intake.controllers import CsatController, IntakeController, TrackController
from app.tickets.pages.deletion import TicketDeletionController
from app.tickets.pages.detail import TicketDetailPages
from app.tickets.pages.listing import TicketPages
from app.tickets.relations.controllers import RelationsController
from app.tickets.types.controllers import TicketTypeAdminController

HANDLERS: list = [
    TicketPages,
    TicketDetailPages,
    TicketDeletionController,
    RelationsController,
    BoardController,
    DisplayAdminController,
    TicketTypeApi,
    TicketApi,
    IntakeController,
    TrackController,
    CsatController,
    TicketTypeAdminController,
]
