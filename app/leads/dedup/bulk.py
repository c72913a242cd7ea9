"""Duplicate checks for an import: a file of many rows against the stored leads and against itself.

One chunk of rows costs one query per 200 keys (`check.stored_candidates`: the newest leads of
each key with the profile stored beside the key, capped per key like `find_duplicates`), and only
candidates that can still be a match are scored (`scoring.may_match`): most leads of a crowded
name block (张伟) have neither the row's district nor a guardian name nor a phone one digit away.
No stored lead is read from `lead` and no stored name goes through pinyin again.

Rows went through create_lead's validation, so their phones are already normal forms and are not
parsed again. Scores and reasons are those of `scoring.score`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from app.leads.dedup.check import _complete, _keep, _ranked, stored_candidates
from app.leads.dedup.normalise import name_syllables, normalise_email, normalise_name, normalise_wechat
from app.leads.dedup.scoring import Match, Profile, is_name_key, match_keys, may_match, score

# Earlier rows of the file a row is compared with, per key (as the stored candidates are capped).
MAX_ROWS_PER_KEY = 100


def clean_profile(values: dict, lead_id: int | None = None) -> Profile:
    """`scoring.profile` for values whose phones are already normalised (validated rows)."""
    student = values.get("student_name") or ""
    guardian = values.get("guardian_name") or ""
    phones = frozenset(p for p in [values.get("phone") or "", *(values.get("phones") or [])] if p)
    return Profile(
        name=normalise_name(student),
        syllables=name_syllables(student),
        guardian=normalise_name(guardian),
        guardian_syllables=name_syllables(guardian) if guardian else (),
        phones=phones,
        email=normalise_email(values.get("email") or ""),
        wechat=normalise_wechat(values.get("wechat") or ""),
        district=normalise_name(values.get("district") or ""),
        lead_id=lead_id,
    )


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
        # Leads this import wrote: a match with one is already reported as a match with its row.
        self.written: set[int] = set()

    async def check(self, rows: Sequence[tuple[int, dict]]) -> dict[int, list[Match]]:
        """`rows`: (row number, validated values) in file order. Returns each row's matches, best first.

        A stored lead's match carries no lead row (`Match.lead` is empty): the importer needs its id only."""
        profiles = {n: clean_profile(values) for n, values in rows}
        all_keys = {n: match_keys(p) for n, p in profiles.items()}
        keys = all_keys if self.fuzzy else {n: {k for k in ks if not is_name_key(k)} for n, ks in all_keys.items()}
        by_key, found = await stored_candidates({k for ks in keys.values() for k in ks})
        stored = await _complete(found)
        for lead_id in self.written & stored.keys():
            del stored[lead_id]
        out: dict[int, list[Match]] = {}
        for n, me in profiles.items():
            matches: list[Match] = []
            for lead_id in {i for k in keys[n] for i in by_key.get(k, ())}:
                them = stored.get(lead_id)
                if them is not None and may_match(me, them):
                    points, reasons, blocking = score(me, them)
                    if _keep(points, blocking):
                        matches.append(Match(points, reasons, blocking, lead_id=lead_id))
            for earlier in sorted({j for k in keys[n] for j in self._rows_by_key.get(k, ())}):
                points, reasons, blocking = score(me, self._profiles[earlier])
                if _keep(points, blocking):
                    matches.append(Match(points, reasons, blocking, index=earlier))
            self._remember(n, me, all_keys[n])
            out[n] = _ranked(matches)[: self.limit]
        return out

    def profile_of(self, row_number: int) -> Profile:
        """The profile of a checked row (its match keys and the profile stored with them follow from it)."""
        return self._profiles[row_number]

    def _remember(self, row_number: int, me: Profile, keys: set[str]) -> None:
        self._profiles[row_number] = me
        for key in keys:
            earlier = self._rows_by_key[key]
            if len(earlier) < MAX_ROWS_PER_KEY:
                earlier.append(row_number)
