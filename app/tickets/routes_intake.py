"""Route handlers of the service desk: intake (registered through app/tickets/routes.py)."""

from app.tickets.intake_controllers import CsatController, IntakeController, TrackController

HANDLERS: list = [IntakeController, TrackController, CsatController]
