"""A covering index for duplicate checks: looking up a key yields its lead ids from the index alone."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-02T05:52:08:967074"
VERSION = "1.38.0"
DESCRIPTION = "lead_match_key (key, lead) index"


class RawTable(Table):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="leads", description=DESCRIPTION)

    async def create_index():
        await RawTable.raw("CREATE INDEX IF NOT EXISTS lead_match_key_key_lead ON lead_match_key (key, lead)")

    async def drop_index():
        await RawTable.raw("DROP INDEX IF EXISTS lead_match_key_key_lead")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
