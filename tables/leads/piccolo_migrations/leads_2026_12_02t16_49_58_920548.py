"""Rewrite every live lead's match keys: each row gets its lead's profile (`lead_match_key.profile`),
and a lead with a name and a district gets the key of its name in its district.

Runs after the migration that adds the column (Piccolo runs a migration's raw steps before its
column changes, so the two cannot be one migration). Reads leads in batches of 2,000 by id and
writes their keys with multi-row INSERTs (COPY on PostgreSQL) per batch: about 4 minutes for a
million leads (3.5 million key rows) on SQLite on the 2-core development VM. Backwards removes the
name-in-district keys; the profile column goes with the migration before.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Integer, Text, Varchar
from piccolo.table import Table

ID = "2026-12-02T16:49:58:920548"
VERSION = "1.38.0"
DESCRIPTION = "lead_match_key: profiles and name-in-district keys for every live lead"

BATCH = 2000


class MatchKeyRows(Table, tablename="lead_match_key"):
    lead = Integer()
    key = Varchar(length=140)
    profile = Text(default="")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="leads", description=DESCRIPTION)

    async def rewrite_keys():
        from app.core.bulk_insert import bulk_insert
        from app.leads.dedup.check import key_rows
        from app.leads.dedup.scoring import profile

        await MatchKeyRows.raw("DELETE FROM lead_match_key")
        last = 0
        while True:
            leads = await MatchKeyRows.raw(
                "SELECT id, student_name, guardian_name, phone, phones, email, wechat, district FROM lead "
                "WHERE deleted_at IS NULL AND id > {} ORDER BY id LIMIT {}",
                last,
                BATCH,
            )
            if not leads:
                return
            rows = []
            for lead in leads:
                if isinstance(lead["phones"], str):
                    lead["phones"] = json.loads(lead["phones"])
                rows.extend(key_rows(lead["id"], profile(lead)))
            await bulk_insert(MatchKeyRows, ("lead", "key", "profile"), rows)
            last = leads[-1]["id"]

    async def drop_district_keys():
        await MatchKeyRows.raw("DELETE FROM lead_match_key WHERE key LIKE 'name:%@%'")

    manager.add_raw(rewrite_keys)
    manager.add_raw_backwards(drop_district_keys)
    return manager
