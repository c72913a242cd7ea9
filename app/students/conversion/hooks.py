"""Registers the lead page's conversion state (app/leads/page_hooks.py) on import."""

from app.leads import page_hooks
from app.students.conversion.services import lead_page_state

page_hooks.use_conversion_state(lead_page_state)
