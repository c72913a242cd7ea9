"""Follow-up records (跟进记录) of leads: contacts, the timeline, due reminders."""
