"""Route handlers of the service desk: pages (registered through app/tickets/routes.py)."""

HANDLERS: list = []
