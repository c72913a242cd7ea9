"""Groups of leads that look like the same family, for the duplicates page (/leads/duplicates).

Pairs come from leads sharing a blocking key; pairs scoring at least the threshold (or matching
exactly) are joined into clusters with a union-find. Keys shared by more than `MAX_BLOCK` leads
(a very common name) are skipped: they would add many pairs and few real duplicates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from app.core.errors import Forbidden
from app.core.pagination import Page, PageRequest
from app.core.permissions import CurrentUser
from app.leads import policy
from app.leads.dedup.check import load_candidates
from app.leads.dedup.scoring import DUPLICATE_THRESHOLD, Reason, profile, score
from tables.leads.tables import Lead, LeadMatchKey

MAX_BLOCK = 50

_SHARED_KEYS = """
SELECT k.key AS key, k.lead AS lead FROM lead_match_key k
WHERE k.key IN (SELECT key FROM lead_match_key GROUP BY key HAVING COUNT(*) BETWEEN 2 AND {max_block})
"""


@dataclass
class Pair:
    a: int
    b: int
    score: int
    reasons: tuple[Reason, ...]
    blocking: bool


@dataclass
class Cluster:
    leads: list[dict]
    pairs: list[Pair] = field(default_factory=list)

    @property
    def best(self) -> int:
        return max(p.score for p in self.pairs)


def _find(parent: dict[int, int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


async def _visible_ids(user: CurrentUser, ids: set[int]) -> set[int]:
    where = Lead.id.is_in(sorted(ids)) & Lead.deleted_at.is_null()
    visible = await policy.visibility_filter(user)
    if visible is not None:
        where &= visible
    return {r["id"] for r in await Lead.select(Lead.id).where(where)}


async def duplicate_clusters(user: CurrentUser, page: PageRequest) -> Page[Cluster]:
    """Clusters of likely duplicates among the leads the user can see, the strongest first."""
    if not policy.can_use_leads(user):
        raise Forbidden()
    rows = await LeadMatchKey.raw(_SHARED_KEYS.format(max_block=MAX_BLOCK))
    by_key: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_key[row["key"]].append(row["lead"])
    candidate_pairs = {tuple(sorted(p)) for ids in by_key.values() for p in combinations(sorted(set(ids)), 2)}
    involved = {i for p in candidate_pairs for i in p}
    if not involved:
        return Page([], 0, page.limit, page.offset)
    visible = await _visible_ids(user, involved)
    leads = await load_candidates(visible)
    profiles = {i: profile(row) for i, row in leads.items()}
    parent = {i: i for i in leads}
    pairs: list[Pair] = []
    for a, b in sorted(candidate_pairs):
        if a in profiles and b in profiles:
            points, reasons, blocking = score(profiles[a], profiles[b])
            if blocking or points >= DUPLICATE_THRESHOLD:
                pairs.append(Pair(a, b, points, reasons, blocking))
                parent[_find(parent, a)] = _find(parent, b)
    grouped: dict[int, Cluster] = {}
    for pair in pairs:
        root = _find(parent, pair.a)
        grouped.setdefault(root, Cluster(leads=[])).pairs.append(pair)
    for cluster in grouped.values():
        ids = sorted({i for p in cluster.pairs for i in (p.a, p.b)})
        cluster.leads = [leads[i] for i in ids]
        cluster.pairs.sort(key=lambda p: -p.score)
    ordered = sorted(grouped.values(), key=lambda c: (-c.best, -max(x["id"] for x in c.leads)))
    return Page(ordered[page.offset : page.offset + page.limit], len(ordered), page.limit, page.offset)
