"""Route handlers of the students domain and of lead conversion, gathered for create_app."""

from app.students.api import StudentApi
from app.students.controllers import StudentController
from app.students.conversion.controllers import LeadConversionApi, LeadConversionController

HANDLERS: list = [StudentController, StudentApi, LeadConversionController, LeadConversionApi]
