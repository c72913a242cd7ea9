"""Route handlers of the service desk: board (registered through app/tickets/routes.py)."""

from app.tickets import board_realtime as _board_pushes  # noqa: F401 - registers the live board and presence
from app.tickets.board_controllers import BoardController, DisplayAdminController

HANDLERS: list = [BoardController, DisplayAdminController]
