"""Route handlers of the service desk: admin (registered through app/tickets/routes.py)."""

HANDLERS: list = []
