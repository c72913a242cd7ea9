"""Hot queries compiled to SQL once, then run with new values.

Building a Piccolo select with joins costs about a millisecond of Python each time it runs, more
than the database needs to answer it. `Prepared` builds the query once per engine with marker
values, remembers where each marker landed among the arguments, and afterwards only swaps values
in. The rows are what the same Piccolo query returns (JSON columns decoded when asked); a test
compares the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from piccolo.columns.base import Column
from piccolo.columns.column_types import JSON, JSONB
from piccolo.columns.defaults.base import Default
from piccolo.querystring import QueryString
from piccolo.table import Table
from piccolo.utils.encoding import dump_json

# Values no real query uses: where they end up among the compiled arguments is where the
# caller's values go.
_MARKERS = (-7_390_001, -7_390_002, -7_390_003, -7_390_004)


class Prepared:
    def __init__(self, build: Callable[..., Any], params: int, json_keys: Sequence[str] = ()) -> None:
        """`build(*values)` returns a Piccolo select (`.first()` allowed) using each value once or more."""
        if params > len(_MARKERS):
            raise ValueError("too many parameters")
        self._build, self._params, self._json_keys = build, params, tuple(json_keys)
        self._compiled: dict[str, tuple[Any, str, list[Any], list[int | None], bool, str]] = {}

    def _compile(self, engine: Any) -> tuple[Any, str, list[Any], list[int | None], bool, str]:
        query = self._build(*_MARKERS[: self._params])
        first = type(query).__name__ == "First"
        select = query.query if first else query  # or an update / delete: they compile the same way
        querystring = select.querystrings[0]
        sql, args = querystring.compile_string(engine_type=engine.engine_type)
        slots = [_MARKERS.index(a) if isinstance(a, int) and a in _MARKERS else None for a in args]
        missing = set(range(self._params)) - {s for s in slots if s is not None}
        if missing:
            raise ValueError(f"parameters {sorted(missing)} do not reach the SQL")
        if first and " LIMIT " not in sql.upper():
            sql += " LIMIT 1"
        compiled = (querystring.table, sql, args, slots, first, querystring.query_type)
        self._compiled[engine.engine_type] = compiled
        return compiled

    async def run(self, *values: Any) -> Any:  # one row or None when `first`, else the rows
        from piccolo_conf import DB

        table, sql, args, slots, first, query_type = self._compiled.get(DB.engine_type) or self._compile(DB)
        query = QueryString("", query_type=query_type, table=table)
        query._frozen_compiled_strings = (sql, [a if s is None else values[s] for a, s in zip(args, slots)])
        rows = [dict(row) for row in await DB.run_querystring(query)]  # asyncpg gives Records
        for row in rows:
            for key in self._json_keys:
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
        if first:
            return rows[0] if rows else None
        return rows


class PreparedInsert:
    """`INSERT INTO table (every column but the key) VALUES ... RETURNING id`, compiled once per
    engine and row count.

    Building a Piccolo insert instantiates the Table (defaults, validation) and converts every
    value through several layers: about half a millisecond per row on the ticket-creation path.
    Here values are taken as given and missing columns get the column's default as Piccolo would;
    JSON columns are serialised. A test compares the stored rows with Piccolo's own insert.
    """

    def __init__(self, table: type[Table]) -> None:
        self._table = table
        self._columns = [c for c in table._meta.columns if not c._meta.primary_key]
        self._plan = [(c._meta.name, c, isinstance(c, JSON | JSONB)) for c in self._columns]
        self._names = {c._meta.name for c in self._columns}
        self._key = table._meta.primary_key._meta.db_column_name
        self._sql: dict[tuple[str, int], str] = {}

    def _compile(self, engine_type: str, rows: int) -> str:
        width = len(self._columns)
        if engine_type == "sqlite":
            groups = ["(" + ",".join("?" * width) + ")"] * rows
        else:
            groups = ["(" + ",".join(f"${r * width + i + 1}" for i in range(width)) + ")" for r in range(rows)]
        names = ",".join(f'"{c._meta.db_column_name}"' for c in self._columns)
        sql = (
            f"INSERT INTO {self._table._meta.get_formatted_tablename()} ({names}) VALUES {','.join(groups)} "
            f'RETURNING "{self._key}"'
        )
        self._sql[(engine_type, rows)] = sql
        return sql

    def _values(self, row: dict[str, Any]) -> list[Any]:
        if not row.keys() <= self._names:
            raise ValueError(f"unknown columns {sorted(row.keys() - self._names)}")
        values = []
        for name, column, is_json in self._plan:
            value = row[name] if name in row else self._default(column)
            if is_json and value is not None and not isinstance(value, str):
                value = dump_json(value)
            values.append(value)
        return values

    @staticmethod
    def _default(column: Column) -> Any:
        value = column.get_default_value()
        return value.python() if isinstance(value, Default) else value

    async def run(self, *rows: dict[str, Any]) -> list[Any]:
        """Insert the rows (column name → value); returns their keys in order."""
        from piccolo_conf import DB

        if not rows:
            return []
        sql = self._sql.get((DB.engine_type, len(rows))) or self._compile(DB.engine_type, len(rows))
        query = QueryString("", query_type="insert", table=self._table)
        query._frozen_compiled_strings = (sql, [v for row in rows for v in self._values(row)])
        return [dict(r)[self._key] for r in await DB.run_querystring(query)]
