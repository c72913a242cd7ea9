"""Route handlers of the service desk: workbench (registered through app/tickets/routes.py)."""

from app.tickets import workbench_realtime as _live_counts  # noqa: F401 - registers the WebSocket renderer
from app.tickets.relations_controllers import RelationsController
from app.tickets.workbench_controllers import WorkbenchController

HANDLERS: list = [WorkbenchController, RelationsController]
