"""REST for the service desk: /api/v1/ticket-types and /api/v1/tickets."""
