"""Route handlers of the service desk: admin (registered through app/tickets/routes.py)."""

from app.tickets.types_controllers import TicketTypeAdminController

HANDLERS: list = [TicketTypeAdminController]
