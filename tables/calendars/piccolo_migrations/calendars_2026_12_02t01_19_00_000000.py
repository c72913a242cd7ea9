"""Unique indexes: one row per calendar and date, and at most one school default calendar.

Plain SQL that SQLite and PostgreSQL both accept (the partial index over a constant makes every
row with campus NULL collide); a separate migration so the tables exist first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T01:19:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="calendars", description=DESCRIPTION)

    async def create_indexes():
        db = engine_finder()
        await db.run_ddl("CREATE UNIQUE INDEX calendar_day_once ON calendar_day (calendar, day)")
        await db.run_ddl(
            "CREATE UNIQUE INDEX business_calendar_one_default ON business_calendar ((1)) WHERE campus IS NULL"
        )

    async def drop_indexes():
        db = engine_finder()
        await db.run_ddl("DROP INDEX calendar_day_once")
        await db.run_ddl("DROP INDEX business_calendar_one_default")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
