"""A person has each skill once: unique (user, kind, value) on staff_skill.

Separate from the first migration because Piccolo runs raw steps before it creates tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T01:12:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique staff skills"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="assignment", description=DESCRIPTION)

    async def unique_skill():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl('CREATE UNIQUE INDEX staff_skill_once ON staff_skill ("user", kind, value)')

    manager.add_raw(unique_skill)
    return manager
