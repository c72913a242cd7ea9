"""One preference row per person and kind (Piccolo runs raw SQL before creating tables, so this index
needs its own migration after the one that creates notification_preference)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T01:12:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique notification preference per recipient and kind"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="notifications", description=DESCRIPTION)

    async def unique_preference():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX notification_preference_once ON notification_preference (recipient, kind)"
        )

    async def drop_unique_preference():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl("DROP INDEX notification_preference_once")

    manager.add_raw(unique_preference)
    manager.add_raw_backwards(drop_unique_preference)
    return manager
