"""Composite unique indexes: the worker's exactly-once guard and one row per policy version.

Plain SQL that SQLite and PostgreSQL both accept; a separate migration so the tables exist first.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T01:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SLA unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sla", description=DESCRIPTION)

    async def create_indexes():
        db = engine_finder()
        await db.run_ddl("CREATE UNIQUE INDEX sla_action_once ON sla_action (ticket, rule, due_key)")
        await db.run_ddl("CREATE UNIQUE INDEX sla_policy_version ON sla_policy (ticket_type, priority, version)")

    async def drop_indexes():
        db = engine_finder()
        await db.run_ddl("DROP INDEX sla_action_once")
        await db.run_ddl("DROP INDEX sla_policy_version")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
