"""Route handlers of the service desk: pages (registered through app/tickets/routes.py)."""

from app.tickets.deletion_controllers import TicketDeletionController
from app.tickets.pages import TicketPages
from app.tickets.pages_detail import TicketDetailPages

HANDLERS: list = [TicketPages, TicketDetailPages, TicketDeletionController]
