"""我的待办: a person's pending work gathered from tickets, approvals and mentions."""
