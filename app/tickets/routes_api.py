"""Route handlers of the service desk: api (registered through app/tickets/routes.py)."""

HANDLERS: list = []
