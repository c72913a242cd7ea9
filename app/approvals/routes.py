"""Every route handler of approvals, gathered for create_app."""

from app.approvals.admin_controllers import ApprovalAdminController
from app.approvals.api import ApprovalApi
from app.approvals.controllers import ApprovalPanelController

HANDLERS: list = [ApprovalPanelController, ApprovalApi, ApprovalAdminController]
