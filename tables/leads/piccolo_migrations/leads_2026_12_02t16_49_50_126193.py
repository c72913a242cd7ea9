from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T16:49:50:126193"
VERSION = "1.38.0"
DESCRIPTION = "lead_match_key.profile: the compared fields of the key's lead (filled by the next migration)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="leads", description=DESCRIPTION)

    manager.add_column(
        table_class_name="LeadMatchKey",
        tablename="lead_match_key",
        column_name="profile",
        db_column_name="profile",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
