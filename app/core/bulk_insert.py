"""Many rows in one statement, inside the current transaction, without Piccolo's per-row objects.

`Table.insert(*rows)` builds a Table instance and a query fragment per row: ~1 ms a row for a
lead, more than the database takes to write it. An import writes hundreds of thousands of rows,
so it goes through here: plain tuples into one multi-row INSERT per batch on the transaction's
own connection (aiosqlite or asyncpg). JSON columns take Python lists and dicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from piccolo.columns import JSON
from piccolo.table import Table

from app.core.db import engine, is_sqlite

# Below SQLite's 32,766 and asyncpg's 32,767 bound parameters per statement.
MAX_PARAMETERS = 30_000


def _connection():
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk_insert runs inside a transaction (UnitOfWork)")
    return transaction.connection


def _json_ready(row: Sequence, json_at: list[int]) -> list:
    values = list(row)
    for i in json_at:
        values[i] = "[]" if values[i] == [] else json.dumps(values[i], ensure_ascii=False)
    return values


async def bulk_insert(
    table: type[Table], columns: Sequence[str], rows: Sequence[Sequence], *, returning_ids: bool = False
) -> list[int]:
    """Insert `rows` (tuples in the order of `columns`); with `returning_ids` the new ids, in row order."""
    if not rows:
        return []
    json_at = [i for i, c in enumerate(columns) if isinstance(table._meta.get_column_by_name(c), JSON)]
    sqlite = is_sqlite()
    names = ", ".join(f'"{c}"' for c in columns)
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    connection = _connection()
    if not sqlite and not returning_ids:
        # PostgreSQL's COPY: no statement to parse or plan, the fastest way in.
        records = [tuple(_json_ready(row, json_at)) for row in rows]
        await connection.copy_records_to_table(table._meta.tablename, records=records, columns=list(columns))
        return []
    ids: list[int] = []
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        args: list = []
        for row in batch:
            args.extend(_json_ready(row, json_at))
        if sqlite:
            one = "(" + ", ".join("?" * len(columns)) + ")"
            values_sql = ", ".join([one] * len(batch))
        else:
            width = len(columns)
            values_sql = ", ".join(
                "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(len(batch))
            )
        sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES {values_sql}'
        if returning_ids:
            sql += ' RETURNING "id"'
            found = await (connection.execute_fetchall(sql, args) if sqlite else connection.fetch(sql, *args))
            # Ids are handed out in VALUES order; RETURNING's own order is not promised, so sort.
            ids.extend(sorted(r["id"] for r in found))
        elif sqlite:
            await connection.execute(sql, args)
        else:
            await connection.execute(sql, *args)
    return ids
