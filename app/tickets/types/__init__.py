"""Ticket types: their custom form fields, the defaults, and the admin editor."""
