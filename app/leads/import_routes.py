"""Route handlers of the lead import and export, and of background jobs, gathered for create_app."""

from app.jobs.api import JobApi
from app.leads.import_api import LeadImportApi
from app.leads.import_controllers import LeadImportController

ROUTE_HANDLERS: list = [JobApi, LeadImportApi, LeadImportController]
