"""The exactly-once guard: one run per (trigger event, rule). A separate migration so the table exists first."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T04:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Automation run unique index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="automation", description=DESCRIPTION)

    async def create_indexes():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX automation_run_once ON automation_run (trigger_event, rule)")

    async def drop_indexes():
        await engine_finder().run_ddl("DROP INDEX automation_run_once")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
