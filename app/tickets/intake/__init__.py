"""Public intake: forms per ticket type, the requester's tracking page, CSAT links."""
