"""Duplicate checks for an import: a file of many rows against the stored leads and against itself.

`check_many` re-profiles every lead of every block a batch touches (pinyin of each stored name,
libphonenumber on each stored phone), which costs ~40 s per 1,000 rows against a million leads.
Here one chunk of rows costs a few queries (keys `IN (...)`, then the candidate leads by id), and
only candidates that can still reach the threshold are scored:

- a candidate found through a phone, e-mail or WeChat key always is (it is an exact match);
- one found only through the name key scores at most 0.75 × 100 = 75 < 80 on the name alone, so it
  is scored only when the same district, two guardian names or a phone one digit away could add the
  rest. Most leads of a crowded name block (张伟) fail this cheap test.

Rows and stored leads went through create_lead's validation, so their phones are already normal
forms and are not parsed again. Scores and reasons are those of `scoring.score`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rapidfuzz.distance import Levenshtein

from app.leads.dedup.check import MAX_CANDIDATES, MAX_NAME_CANDIDATES, _chunks, _keep, _ranked
from app.leads.dedup.normalise import name_syllables, normalise_email, normalise_name, normalise_wechat
from app.leads.dedup.scoring import Match, Profile, match_keys, score
from tables.leads.tables import LeadMatchKey

# Earlier rows of the file a row is compared with, per key (as the stored candidates are capped).
MAX_ROWS_PER_KEY = 100


def clean_profile(values: dict, lead_id: int | None = None, syllables: tuple[str, ...] | None = None) -> Profile:
    """`scoring.profile` for values whose phones are already normalised (validated rows, stored leads).

    `syllables`: the name's syllables when already known — a lead found through a name key has
    that key's syllables, and scores only look at syllables as a set, so no pinyin is needed.
    """
    student = values.get("student_name") or ""
    guardian = values.get("guardian_name") or ""
    phones = frozenset(p for p in [values.get("phone") or "", *(values.get("phones") or [])] if p)
    return Profile(
        name=normalise_name(student), syllables=syllables if syllables is not None else name_syllables(student),
        guardian=normalise_name(guardian), guardian_syllables=name_syllables(guardian) if guardian else (),
        phones=phones, email=normalise_email(values.get("email") or ""),
        wechat=normalise_wechat(values.get("wechat") or ""), district=normalise_name(values.get("district") or ""),
        lead_id=lead_id,
    )  # fmt: skip


def _one_digit_apart(a: Iterable[str], b: Iterable[str]) -> bool:
    return any(len(x) == len(y) >= 7 and Levenshtein.distance(x, y, score_cutoff=1) == 1 for x in a for y in b)


def _may_reach_threshold(me: Profile, row: dict) -> bool:
    """Can a lead that shares only the name key with `me` score 80? Needs a bonus besides the name."""
    if me.district and row["district_form"] == me.district:
        return True
    if me.guardian and row.get("guardian_name"):
        return True
    stored = [row.get("phone") or "", *(row.get("phones") or [])]
    return bool(me.phones) and _one_digit_apart(me.phones, [p for p in stored if p])


def _is_exact(key: str) -> bool:
    return not key.startswith("name:")


class FileDuplicates:
    """Remembers the rows of one file checked so far; `check` compares the next chunk of rows with
    the stored leads and with every earlier row (`Match.index` is the earlier row's number).

    With `fuzzy=False` only the same phone, e-mail or WeChat id is looked for (the matches that
    decide whether a row is skipped): no name blocks are read, which halves an import's time.
    """

    def __init__(self, *, limit: int = 20, fuzzy: bool = True) -> None:
        self.limit = limit
        self.fuzzy = fuzzy
        self._rows_by_key: dict[str, list[int]] = defaultdict(list)
        self._profiles: dict[int, Profile] = {}
        self._keys: dict[int, set[str]] = {}
        # Leads this import wrote: a match with one is already reported as a match with its row.
        self.written: set[int] = set()

    async def check(self, rows: Sequence[tuple[int, dict]]) -> dict[int, list[Match]]:
        """`rows`: (row number, validated values) in file order. Returns each row's matches, best first."""
        profiles = {n: clean_profile(values) for n, values in rows}
        all_keys = {n: match_keys(p) for n, p in profiles.items()}
        keys = all_keys if self.fuzzy else {n: {k for k in ks if _is_exact(k)} for n, ks in all_keys.items()}
        by_key, stored = await _stored_by_key({k for ks in keys.values() for k in ks})
        for lead_id in self.written & stored.keys():
            del stored[lead_id]
        stored_profiles: dict[int, Profile] = {}
        out: dict[int, list[Match]] = {}
        for n, me in profiles.items():
            matches: list[Match] = []
            exact_ids = {i for k in keys[n] if _is_exact(k) for i in by_key.get(k, ())}
            name_ids = {i for k in keys[n] if not _is_exact(k) for i in by_key.get(k, ())} - exact_ids
            for lead_id in exact_ids | {i for i in name_ids if i in stored and _may_reach_threshold(me, stored[i])}:
                row = stored.get(lead_id)
                if row is None:
                    continue
                if lead_id not in stored_profiles:
                    # Reached by the name key alone: its syllables are this row's (as a set).
                    known = tuple(sorted(me.syllables)) if lead_id not in exact_ids else None
                    stored_profiles[lead_id] = clean_profile(row, lead_id, known)
                points, reasons, blocking = score(me, stored_profiles[lead_id])
                if _keep(points, blocking):
                    matches.append(Match(points, reasons, blocking, lead_id=lead_id, lead=row))
            for earlier in sorted({j for k in keys[n] for j in self._rows_by_key.get(k, ())}):
                points, reasons, blocking = score(me, self._profiles[earlier])
                if _keep(points, blocking):
                    matches.append(Match(points, reasons, blocking, index=earlier))
            self._remember(n, me, all_keys[n])
            out[n] = _ranked(matches)[: self.limit]
        return out

    def keys_of(self, row_number: int) -> set[str]:
        """The match keys of a checked row (to write with its lead)."""
        return self._keys[row_number]

    def _remember(self, row_number: int, me: Profile, keys: set[str]) -> None:
        self._profiles[row_number] = me
        self._keys[row_number] = keys
        for key in keys:
            earlier = self._rows_by_key[key]
            if len(earlier) < MAX_ROWS_PER_KEY:
                earlier.append(row_number)


_CANDIDATES_SQL = (
    "SELECT k.key AS key, l.id AS id, l.student_name AS student_name, l.guardian_name AS guardian_name, "
    "l.phone AS phone, l.phones AS phones, l.email AS email, l.wechat AS wechat, l.district AS district "
    "FROM lead_match_key k JOIN lead l ON l.id = k.lead WHERE l.deleted_at IS NULL AND k.key IN ({marks})"
)


async def _stored_by_key(keys: set[str]) -> tuple[dict[str, list[int]], dict[int, dict]]:
    """Lead ids per key (capped per key like `find_duplicates`) and those leads' compared fields: one
    query per 500 keys, compiled by hand (Piccolo's query building costs more than SQLite's answer)."""
    from piccolo.querystring import QueryString

    from app.core.db import engine, is_sqlite

    by_key: dict[str, list[int]] = defaultdict(list)
    leads: dict[int, dict] = {}
    for chunk in _chunks(sorted(keys)):
        marks = ", ".join("?" * len(chunk)) if is_sqlite() else ", ".join(f"${i + 1}" for i in range(len(chunk)))
        query = QueryString("", query_type="select", table=LeadMatchKey)
        query._frozen_compiled_strings = (_CANDIDATES_SQL.format(marks=marks), list(chunk))
        for row in await engine().run_querystring(query):
            row = dict(row)
            ids = by_key[row["key"]]
            if len(ids) < (MAX_CANDIDATES if _is_exact(row["key"]) else MAX_NAME_CANDIDATES):
                ids.append(row["id"])
                if row["id"] not in leads:
                    phones = row["phones"]
                    if isinstance(phones, str):
                        row["phones"] = json.loads(phones) if phones != "[]" else []
                    row["district_form"] = normalise_name(row["district"] or "")
                    leads[row["id"]] = row
    return by_key, leads
