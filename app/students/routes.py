"""Route handlers of the students domain and of lead conversion, gathered for create_app."""

from app.leads.conversion_controllers import LeadConversionApi, LeadConversionController
from app.students.api import StudentApi
from app.students.controllers import StudentController

ROUTE_HANDLERS: list = [StudentController, StudentApi, LeadConversionController, LeadConversionApi]
