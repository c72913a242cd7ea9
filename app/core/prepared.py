"""Hot read queries compiled to SQL once, then run with new values.

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

from piccolo.querystring import QueryString

# Values no real query uses: where they end up among the compiled arguments is where the
# caller's values go.
_MARKERS = (-7_390_001, -7_390_002, -7_390_003, -7_390_004)


class Prepared:
    def __init__(self, build: Callable[..., Any], params: int, json_keys: Sequence[str] = ()) -> None:
        """`build(*values)` returns a Piccolo select (`.first()` allowed) using each value once or more."""
        if params > len(_MARKERS):
            raise ValueError("too many parameters")
        self._build, self._params, self._json_keys = build, params, tuple(json_keys)
        self._compiled: dict[str, tuple[Any, str, list[Any], list[int | None], bool]] = {}

    def _compile(self, engine) -> tuple[Any, str, list[Any], list[int | None], bool]:
        query = self._build(*_MARKERS[: self._params])
        first = type(query).__name__ == "First"
        select = query.query if first else query
        querystring = select.querystrings[0]
        sql, args = querystring.compile_string(engine_type=engine.engine_type)
        slots = [_MARKERS.index(a) if isinstance(a, int) and a in _MARKERS else None for a in args]
        missing = set(range(self._params)) - {s for s in slots if s is not None}
        if missing:
            raise ValueError(f"parameters {sorted(missing)} do not reach the SQL")
        if first and " LIMIT " not in sql.upper():
            sql += " LIMIT 1"
        compiled = (querystring.table, sql, args, slots, first)
        self._compiled[engine.engine_type] = compiled
        return compiled

    async def run(self, *values: Any):
        from piccolo_conf import DB

        table, sql, args, slots, first = self._compiled.get(DB.engine_type) or self._compile(DB)
        query = QueryString("", query_type="select", table=table)
        query._frozen_compiled_strings = (sql, [a if s is None else values[s] for a, s in zip(args, slots)])
        rows = [dict(row) for row in await DB.run_querystring(query)]  # asyncpg gives Records
        for row in rows:
            for key in self._json_keys:
                if isinstance(row.get(key), str):
                    row[key] = json.loads(row[key])
        if first:
            return rows[0] if rows else None
        return rows
