"""Ticket relations: link, merge and split."""
