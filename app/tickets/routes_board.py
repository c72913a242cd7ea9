"""Route handlers of the service desk: board (registered through app/tickets/routes.py)."""

HANDLERS: list = []
