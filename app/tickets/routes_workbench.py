"""Route handlers of the service desk: workbench (registered through app/tickets/routes.py)."""

HANDLERS: list = []
