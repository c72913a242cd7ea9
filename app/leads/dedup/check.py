"""Duplicate checks against the stored leads: blocking keys → candidates → scores.

`find_duplicates` checks one lead (create, edit, the API); `check_many` checks a batch (an import)
against the stored leads and against itself. Neither ever scans the lead table: candidates come
only from `lead_match_key` rows that share a key, capped per check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from app.leads.dedup.scoring import DUPLICATE_THRESHOLD, Match, Profile, match_keys, profile, score
from tables.leads.tables import Lead, LeadMatchKey

# A name shared by thousands (张伟) must not turn one check into thousands of comparisons:
# a phone, e-mail or WeChat key yields at most MAX_CANDIDATES leads, a name key MAX_NAME_CANDIDATES.
MAX_CANDIDATES = 300
MAX_NAME_CANDIDATES = 100
_CHUNK = 500
CANDIDATE_COLUMNS = (
    Lead.id, Lead.student_name, Lead.guardian_name, Lead.phone, Lead.phones, Lead.email, Lead.wechat,
    Lead.district, Lead.status, Lead.owner, Lead.owner.display_name.as_alias("owner_name"),
)  # fmt: skip


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def write_keys(lead_id: int, values: dict) -> None:
    """Replace a lead's keys; call inside the unit of work that writes the lead."""
    await LeadMatchKey.delete().where(LeadMatchKey.lead == lead_id)
    keys = match_keys(profile(values))
    if keys:
        await LeadMatchKey.insert(*[LeadMatchKey(lead=lead_id, key=k) for k in sorted(keys)])


async def drop_keys(lead_id: int) -> None:
    """A deleted or merged-away lead is nobody's duplicate."""
    await LeadMatchKey.delete().where(LeadMatchKey.lead == lead_id)


async def rebuild_all_keys(batch: int = 2000) -> int:
    """Recompute every live lead's keys (after bulk inserts such as the demo data); returns the lead count."""
    await LeadMatchKey.delete(force=True)
    last, total = 0, 0
    while True:
        rows = await (
            Lead.select(*CANDIDATE_COLUMNS[:8]).where((Lead.id > last) & Lead.deleted_at.is_null())
            .order_by(Lead.id).limit(batch).output(load_json=True)
        )  # fmt: skip
        if not rows:
            return total
        keys = [LeadMatchKey(lead=r["id"], key=k) for r in rows for k in sorted(match_keys(profile(r)))]
        for chunk in _chunks(keys):
            await LeadMatchKey.insert(*chunk)
        last, total = rows[-1]["id"], total + len(rows)


async def _lead_ids_by_key(keys: Sequence[str], limit: int) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(keys)):
        rows = await LeadMatchKey.select(LeadMatchKey.lead, LeadMatchKey.key).where(
            LeadMatchKey.key.is_in(list(chunk))
        ).limit(limit)  # fmt: skip
        for row in rows:
            found[row["key"]].append(row["lead"])
    return found


async def load_candidates(ids: Iterable[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = await Lead.select(*CANDIDATE_COLUMNS).where(
            Lead.id.is_in(list(chunk)) & Lead.deleted_at.is_null()
        ).output(load_json=True)  # fmt: skip
        out.update((r["id"], r) for r in rows)
    return out


def _ranked(matches: list[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (-m.score, m.lead_id or 0, m.index or 0))


def _keep(points: int, blocking: bool) -> bool:
    return blocking or points >= DUPLICATE_THRESHOLD


async def find_duplicates(values: dict, *, exclude: Iterable[int] = (), limit: int = 20) -> list[Match]:
    """Likely duplicates of `values` among the stored live leads, best first.

    Exact phone/e-mail/WeChat matches are always included (they block); fuzzy ones at a score of
    `DUPLICATE_THRESHOLD` or more.
    """
    me = profile(values)
    keys = match_keys(me)
    if not keys:
        return []
    # Exact keys first, then the name: a crowded name block cannot push out a phone match.
    exact = [k for k in keys if not k.startswith("name:")]
    by_key = await _lead_ids_by_key(exact, MAX_CANDIDATES) if exact else {}
    names = [k for k in keys if k.startswith("name:")]
    if names:
        by_key.update(await _lead_ids_by_key(names, MAX_NAME_CANDIDATES))
    skip = set(exclude)
    ids = {i for found in by_key.values() for i in found} - skip
    matches = []
    for lead_id, row in (await load_candidates(ids)).items():
        points, reasons, blocking = score(me, profile(row))
        if _keep(points, blocking):
            matches.append(Match(points, reasons, blocking, lead_id=lead_id, lead=row))
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
    stored_by_key = await _lead_ids_by_key(list(in_batch), MAX_CANDIDATES * max(1, len(candidates)))
    stored = await load_candidates(i for ids in stored_by_key.values() for i in ids)
    stored_profiles = {i: profile(row) for i, row in stored.items()}
    results: list[list[Match]] = []
    for i, (me, keys) in enumerate(zip(profiles, keys_of)):
        matches: list[Match] = []
        lead_ids = {x for k in keys for x in stored_by_key.get(k, ())[:MAX_CANDIDATES]}
        for lead_id in lead_ids:
            if lead_id in stored_profiles:
                points, reasons, blocking = score(me, stored_profiles[lead_id])
                if _keep(points, blocking):
                    matches.append(Match(points, reasons, blocking, lead_id=lead_id, lead=stored[lead_id]))
        for j in {x for k in keys for x in in_batch[k][:MAX_CANDIDATES]} - {i}:
            points, reasons, blocking = score(me, profiles[j])
            if _keep(points, blocking):
                matches.append(Match(points, reasons, blocking, index=j))
        results.append(_ranked(matches)[:limit])
    return results
