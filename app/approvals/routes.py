"""Every route handler of approvals, gathered for create_app."""

from app.approvals import realtime as _live_counts  # noqa: F401 - registers the WebSocket renderer
from app.approvals.admin_controllers import ApprovalAdminController
from app.approvals.api import ApprovalApi
from app.approvals.controllers import ApprovalPanelController

ROUTE_HANDLERS: list = [ApprovalPanelController, ApprovalApi, ApprovalAdminController]
