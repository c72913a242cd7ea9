import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="follow_ups",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["tables.follow_ups.tables"], exclude_imported=True),
    migration_dependencies=["tables.leads.piccolo_app", "tables.students.piccolo_app"],
    commands=[],
)
