"""Every route handler of the leads domain (pages, API, pool, import, phone reveals), gathered once
for create_app."""

from app.leads.api import LeadApi
from app.leads.controllers import LeadController, LeadDuplicatesController
from app.leads.importing.api import LeadImportApi
from app.leads.importing.controllers import LeadImportController
from app.leads.phone_controllers import LeadPhoneApi, LeadPhoneController, PhoneRevealLogController
from app.leads.pool.admin import LeadPoolAdminController
from app.leads.pool.api import LeadPoolApi
from app.leads.pool.controllers import LeadPoolController

HANDLERS: list = [
    LeadController,
    LeadDuplicatesController,
    LeadApi,
    LeadPhoneApi,
    LeadPhoneController,
    PhoneRevealLogController,
    LeadPoolApi,
    LeadPoolController,
    LeadPoolAdminController,
    LeadImportApi,
    LeadImportController,
]
