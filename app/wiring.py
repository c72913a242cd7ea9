"""Registers every domain's hooks with the core, so that app/core imports no domain.

`create_app`, the worker's start-up, the command line and the test session call `wire()` once
(it is idempotent). What it registers:
- the user source of authentication (accounts: sessions, users, API tokens);
- the bell's unread count on every full page (notifications);
- the reactions that keep derived state in step with every write (approvals, assignment, SLA,
  automation rules), which the UnitOfWork refuses to commit without;
- who may see each kind of record an event names (tickets, leads, students), for the hub.
"""

from __future__ import annotations

_done = False


def wire() -> None:
    global _done
    if _done:
        return
    from app.accounts import sessions
    from app.accounts.services import load_user, user_for_token
    from app.core import auth, db, web
    from app.notifications.services import unread_count

    auth.use_user_source(
        auth.UserSource(
            session_cookie=sessions.SESSION_COOKIE,
            session_user_id=sessions.session_user_id,
            load_user=load_user,
            user_for_token=user_for_token,
        )
    )
    web.use_unread_counter(unread_count)
    # Importing these registers, by decorator: the reactions (app.core.db.reacts_to), who may see
    # each record kind an event names (app.core.events.record_audience) and the lead page's
    # conversion state (app/leads/page_hooks.py).
    import app.approvals.reactions  # noqa: F401
    import app.assignment.reactions  # noqa: F401
    import app.automation.reactions  # noqa: F401
    import app.leads.audience  # noqa: F401
    import app.sla.reactions  # noqa: F401
    import app.students.audience  # noqa: F401
    import app.students.conversion.hooks  # noqa: F401
    import app.tickets.audience  # noqa: F401

    db.mark_reactions_registered()
    _done = True
