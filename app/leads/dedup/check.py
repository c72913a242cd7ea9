"""Duplicate checks against the stored leads: blocking keys → candidates → scores.

`find_duplicates` checks one lead (create, edit, the API); `check_many` checks a batch (an import)
against the stored leads and against itself. Neither ever scans the lead table: candidates come
only from `lead_match_key` rows that share a key, capped per key, and each key row carries its
lead's compared fields (`profile`), so candidates are scored without reading `lead` or computing
pinyin again. Only the leads that match are read, for the caller to show.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from piccolo.querystring import QueryString

from app.leads.dedup.scoring import (
    DUPLICATE_THRESHOLD,
    Match,
    Profile,
    decode_profile,
    encode_profile,
    is_name_key,
    match_keys,
    may_match,
    profile,
    score,
)
from tables.leads.tables import Lead, LeadMatchKey

# A name shared by thousands (张伟) must not turn one check into thousands of comparisons:
# a phone, e-mail or WeChat key yields at most MAX_CANDIDATES leads, a name key MAX_NAME_CANDIDATES
# (the newest ones).
MAX_CANDIDATES = 300
MAX_NAME_CANDIDATES = 100
_CHUNK = 500
# Keys per candidate query: one capped sub-select per key, and SQLite allows 500 in one compound select.
_KEYS_PER_QUERY = 200
# Up to this many keys (one lead's: phones, e-mail, WeChat id, names) SQLite reads them in one statement.
_SMALL_CHECK = 20
CANDIDATE_COLUMNS = (
    Lead.id,
    Lead.student_name,
    Lead.guardian_name,
    Lead.phone,
    Lead.phones,
    Lead.email,
    Lead.wechat,
    Lead.district,
    Lead.status,
    Lead.owner,
    Lead.owner.display_name.as_alias("owner_name"),
)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_rows(lead_id: int, p: Profile) -> list[tuple[int, str, str]]:
    """(lead, key, profile) for each of a lead's match keys: the rows `lead_match_key` holds for it."""
    stored = encode_profile(p)
    return [(lead_id, key, stored) for key in sorted(match_keys(p))]


async def write_keys(lead_id: int, values: dict) -> None:
    """Replace a lead's keys; call inside the unit of work that writes the lead."""
    await LeadMatchKey.delete().where(LeadMatchKey.lead == lead_id)
    rows = key_rows(lead_id, profile(values))
    if rows:
        await LeadMatchKey.insert(*[LeadMatchKey(lead=i, key=k, profile=p) for i, k, p in rows])


async def drop_keys(lead_id: int) -> None:
    """A deleted or merged-away lead is nobody's duplicate."""
    await LeadMatchKey.delete().where(LeadMatchKey.lead == lead_id)


async def rebuild_all_keys(batch: int = 2000) -> int:
    """Recompute every live lead's keys (after bulk inserts such as the demo data); returns the lead count."""
    await LeadMatchKey.delete(force=True)
    last, total = 0, 0
    while True:
        rows = await (
            Lead.select(*CANDIDATE_COLUMNS[:8])
            .where((Lead.id > last) & Lead.deleted_at.is_null())
            .order_by(Lead.id)
            .limit(batch)
            .output(load_json=True)
        )
        if not rows:
            return total
        keys = [LeadMatchKey(lead=i, key=k, profile=p) for r in rows for i, k, p in key_rows(r["id"], profile(r))]
        for chunk in _chunks(keys):
            await LeadMatchKey.insert(*chunk)
        last, total = rows[-1]["id"], total + len(rows)


async def _run_sql(sql: str, args: list) -> list[dict]:
    """A select compiled by hand: building a Piccolo query costs more than SQLite needs to answer it."""
    from app.core.db import engine

    query = QueryString("", query_type="select", table=LeadMatchKey)
    query._frozen_compiled_strings = (sql, args)
    return [dict(row) for row in await engine().run_querystring(query)]  # asyncpg gives Records


def _cap(key: str) -> int:
    return MAX_NAME_CANDIDATES if is_name_key(key) else MAX_CANDIDATES


# PostgreSQL: one statement whatever the keys (asyncpg prepares it once per connection).
_PG_CANDIDATES_SQL = (
    "SELECT k.key, k.lead, k.profile FROM unnest($1::text[], $2::int[]) AS wanted(key, cap) "
    "CROSS JOIN LATERAL (SELECT key, lead, profile FROM lead_match_key WHERE key = wanted.key "
    "ORDER BY lead DESC LIMIT wanted.cap) AS k"
)


def _sqlite_capped_sql(keys: Sequence[str]) -> str:
    """SQLite has no LATERAL: a capped sub-select per key, joined by UNION ALL (at most 500 in one)."""
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT key, lead, profile FROM lead_match_key WHERE key = ? ORDER BY lead DESC "
        f"LIMIT {_cap(key)}) AS k{n}"
        for n, key in enumerate(keys)
    )


async def _sqlite_candidate_rows(keys: Sequence[str]) -> list[dict]:
    """One capped sub-select per key for a single check. For a batch (an import's chunk), where
    compiling hundreds of sub-selects costs more than answering them, exact keys go in one `IN (...)`
    per 500 (their blocks are a lead or two; capped here) and only name keys are capped in SQL: a
    crowded name block must not be read whole."""
    if len(keys) <= _SMALL_CHECK:
        return await _run_sql(_sqlite_capped_sql(keys), list(keys))
    exact = [k for k in keys if not is_name_key(k)]
    names = [k for k in keys if is_name_key(k)]
    rows: list[dict] = []
    for chunk in _chunks(exact):
        marks = ", ".join("?" * len(chunk))
        found = await _run_sql(f"SELECT key, lead, profile FROM lead_match_key WHERE key IN ({marks})", list(chunk))
        by_key: dict[str, list[dict]] = defaultdict(list)
        for row in found:
            by_key[row["key"]].append(row)
        for block in by_key.values():
            rows.extend(sorted(block, key=lambda r: -r["lead"])[:MAX_CANDIDATES])
    for chunk in _chunks(names, _KEYS_PER_QUERY):
        rows.extend(await _run_sql(_sqlite_capped_sql(chunk), list(chunk)))
    return rows


async def stored_candidates(keys: Iterable[str]) -> tuple[dict[str, list[int]], dict[int, Profile | None]]:
    """The newest leads of each key (at most `_cap(key)`) and their stored profiles (None when a key row
    has none: written before profiles were stored). Each key is read on the (key, lead) index: on
    PostgreSQL in one statement per 200 keys, on SQLite see `_sqlite_candidate_rows`."""
    from app.core.db import is_sqlite

    by_key: dict[str, list[int]] = defaultdict(list)
    profiles: dict[int, Profile | None] = {}
    wanted = sorted(keys)
    if is_sqlite():
        rows = await _sqlite_candidate_rows(wanted)
    else:
        rows = []
        for chunk in _chunks(wanted, _KEYS_PER_QUERY):
            rows.extend(await _run_sql(_PG_CANDIDATES_SQL, [list(chunk), [_cap(k) for k in chunk]]))
    for row in rows:
        lead_id = row["lead"]
        by_key[row["key"]].append(lead_id)
        if lead_id not in profiles:
            profiles[lead_id] = decode_profile(row["profile"] or "", lead_id)
    return by_key, profiles


_LEADS_SQL: dict[tuple[str, int], str] = {}


def _leads_sql(engine_type: str, size: int) -> str:
    """Piccolo's SQL for the candidate columns of `size` leads by id, compiled once per engine and size."""
    sql = _LEADS_SQL.get((engine_type, size))
    if sql is None:
        markers = [-7_390_001 - i for i in range(size)]
        query = Lead.select(*CANDIDATE_COLUMNS).where(Lead.id.is_in(markers) & Lead.deleted_at.is_null())
        sql, args = query.querystrings[0].compile_string(engine_type=engine_type)
        if args != markers:
            raise RuntimeError("unexpected arguments in the compiled lead select")
        _LEADS_SQL[(engine_type, size)] = sql
    return sql


async def load_candidates(ids: Iterable[int]) -> dict[int, dict]:
    """The live leads among `ids` with the candidate columns (phones decoded), by id."""
    from app.core.db import engine

    engine_type = engine().engine_type
    out: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(ids)), 256):
        size = 1 << (len(chunk) - 1).bit_length()  # a few SQL texts of 1, 2, 4 … 256 ids; the rest repeat the last id
        args = [*chunk, *[chunk[-1]] * (size - len(chunk))]
        for row in await _run_sql(_leads_sql(engine_type, size), args):
            if isinstance(row["phones"], str):
                row["phones"] = json.loads(row["phones"])
            out[row["id"]] = row
    return out


def _ranked(matches: list[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (-m.score, m.lead_id or 0, m.index or 0))


def _keep(points: int, blocking: bool) -> bool:
    return blocking or points >= DUPLICATE_THRESHOLD


async def _complete(profiles: dict[int, Profile | None]) -> dict[int, Profile]:
    """Profiles for candidates whose key rows carry none, from their leads (the slow way)."""
    missing = [i for i, p in profiles.items() if p is None]
    found = {i: p for i, p in profiles.items() if p is not None}
    if missing:
        found.update((i, profile(row)) for i, row in (await load_candidates(missing)).items())
    return found


def _useful_keys(me: Profile, keys: set[str]) -> list[str]:
    """The keys worth reading for `me`. A lead found only through the plain name key (not the same
    district) needs two guardian names or a phone one digit away to reach the threshold."""
    if me.guardian or me.phones:
        return sorted(keys)
    return sorted(k for k in keys if not is_name_key(k) or "@" in k)


async def find_duplicates(values: dict, *, exclude: Iterable[int] = (), limit: int = 20) -> list[Match]:
    """Likely duplicates of `values` among the stored live leads, best first.

    Exact phone/e-mail/WeChat matches are always included (they block); fuzzy ones at a score of
    `DUPLICATE_THRESHOLD` or more.
    """
    me = profile(values)
    keys = match_keys(me)
    if not keys:
        return []
    _, candidates = await stored_candidates(_useful_keys(me, keys))
    for lead_id in exclude:
        candidates.pop(lead_id, None)
    scored = {}
    for lead_id, them in (await _complete(candidates)).items():
        if may_match(me, them):
            points, reasons, blocking = score(me, them)
            if _keep(points, blocking):
                scored[lead_id] = (points, reasons, blocking)
    leads = await load_candidates(scored) if scored else {}
    matches = [Match(*scored[i], lead_id=i, lead=row) for i, row in leads.items()]
    return _ranked(matches)[:limit]


async def check_many(candidates: Sequence[dict], *, limit: int = 20) -> list[list[Match]]:
    """For each candidate (a dict of lead fields), its likely duplicates among the stored leads
    (`Match.lead_id`) and among the other candidates of the batch (`Match.index`), best first."""
    profiles: list[Profile] = [profile(c, lead_id=-1) for c in candidates]
    keys_of = [match_keys(p) for p in profiles]
    in_batch: dict[str, list[int]] = defaultdict(list)
    for i, keys in enumerate(keys_of):
        for key in keys:
            in_batch[key].append(i)
    stored_by_key, stored = await stored_candidates(in_batch)
    stored_profiles = await _complete(stored)
    found: list[list[Match]] = []
    for i, (me, keys) in enumerate(zip(profiles, keys_of)):
        matches: list[Match] = []
        for lead_id in {x for k in keys for x in stored_by_key.get(k, ())}:
            them = stored_profiles.get(lead_id)
            if them is not None and may_match(me, them):
                points, reasons, blocking = score(me, them)
                if _keep(points, blocking):
                    matches.append(Match(points, reasons, blocking, lead_id=lead_id))
        for j in {x for k in keys for x in in_batch[k][:MAX_CANDIDATES]} - {i}:
            points, reasons, blocking = score(me, profiles[j])
            if _keep(points, blocking):
                matches.append(Match(points, reasons, blocking, index=j))
        found.append(matches)
    leads = await load_candidates({m.lead_id for matches in found for m in matches if m.lead_id is not None})
    results = []
    for matches in found:
        kept = [m for m in matches if m.lead_id is None or m.lead_id in leads]
        for m in kept:
            if m.lead_id is not None:
                m.lead = leads[m.lead_id]
        results.append(_ranked(kept)[:limit])
    return results
