from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-12-02T16:49:54:000000"
VERSION = "1.38.0"
DESCRIPTION = "lead_match_key.key: no index of its own, (key, lead) serves every lookup (runs before the key rewrite)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="leads", description=DESCRIPTION)

    manager.alter_column(
        table_class_name="LeadMatchKey",
        tablename="lead_match_key",
        column_name="key",
        db_column_name="key",
        params={"index": False},
        old_params={"index": True},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
