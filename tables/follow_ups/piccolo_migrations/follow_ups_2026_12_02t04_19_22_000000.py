"""Indexes: the reminder scan's (reminder, next_follow_up_at) and the notice's exactly-once guard.

Plain SQL that SQLite and PostgreSQL both accept; a separate migration so the tables exist first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T04:19:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "Follow-up and pool indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="follow_ups", description=DESCRIPTION)

    async def create_indexes():
        db = engine_finder()
        await db.run_ddl("CREATE INDEX follow_up_reminder_due ON follow_up (reminder, next_follow_up_at)")
        await db.run_ddl("CREATE UNIQUE INDEX lead_pool_notice_once ON lead_pool_notice (lead, owner, rule, basis)")

    async def drop_indexes():
        db = engine_finder()
        await db.run_ddl("DROP INDEX follow_up_reminder_due")
        await db.run_ddl("DROP INDEX lead_pool_notice_once")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
