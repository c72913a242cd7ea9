"""Route handlers of assignment, gathered for create_app; importing it registers the presence hooks."""

from app.assignment import presence as _presence  # noqa: F401 - registers the online-staff hooks on /ws
from app.assignment.controllers import AssignmentAdminController

HANDLERS: list = [AssignmentAdminController]
