"""The workbench's route handlers, gathered once for create_app; importing its realtime module
registers the live counts' WebSocket renderer."""

from app.workbench import realtime as _live_counts  # noqa: F401 - registers the WebSocket renderer
from app.workbench.controllers import WorkbenchController

HANDLERS: list = [WorkbenchController]
