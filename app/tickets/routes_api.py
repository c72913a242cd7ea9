"""Route handlers of the service desk: api (registered through app/tickets/routes.py)."""

from app.tickets.api import TicketApi, TicketTypeApi

HANDLERS: list = [TicketTypeApi, TicketApi]
