"""Every route handler of the service desk, gathered for create_app."""

from app.tickets import routes_admin, routes_api, routes_board, routes_intake, routes_pages, routes_workbench

ROUTE_HANDLERS = [
    *routes_pages.HANDLERS,
    *routes_board.HANDLERS,
    *routes_api.HANDLERS,
    *routes_intake.HANDLERS,
    *routes_admin.HANDLERS,
    *routes_workbench.HANDLERS,
]
