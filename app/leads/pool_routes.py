"""Route handlers of follow-ups and the public pool, gathered for create_app."""

from app.leads.pool_admin_controllers import LeadPoolAdminController
from app.leads.pool_api import LeadPoolApi
from app.leads.pool_controllers import LeadPoolController

ROUTE_HANDLERS: list = [LeadPoolApi, LeadPoolController, LeadPoolAdminController]
