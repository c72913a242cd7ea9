"""Route handlers of the service desk: intake (registered through app/tickets/routes.py)."""

HANDLERS: list = []
