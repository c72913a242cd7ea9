"""Route handlers of follow-ups and the public pool, gathered for create_app."""

from app.leads.pool_api import LeadPoolApi

ROUTE_HANDLERS: list = [LeadPoolApi]
