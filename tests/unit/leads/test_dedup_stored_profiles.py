"""Profiles stored with the match keys: a check scores from them exactly as from the leads, skips
only pairs that cannot match, reads each key's newest leads, and finds a same-district duplicate in a
name block larger than the cap. Every way keys are written stores the profile."""

from __future__ import annotations

import importlib.util
from itertools import combinations
from pathlib import Path

from app.core.db import UnitOfWork
from app.leads import services
from app.leads.dedup import check
from app.leads.dedup.check import find_duplicates, key_rows, load_candidates
from app.leads.dedup.labelled import generate
from app.leads.dedup.scoring import (
    DUPLICATE_THRESHOLD,
    decode_profile,
    encode_profile,
    match_keys,
    may_match,
    profile,
    score,
)
from tables.leads.tables import Lead, LeadMatchKey

MIGRATIONS = Path(__file__).resolve().parents[3] / "tables" / "leads" / "piccolo_migrations"


def test_a_stored_profile_is_the_profile():
    for r in generate(seed=3, people=150):
        p = profile({**r.values, "phones": ["010-6234 5678"], "email": "A b@QQ.com"}, lead_id=5)
        assert decode_profile(encode_profile(p), 5) == p
    assert decode_profile("", 1) is None and decode_profile("only\x1ftwo", 1) is None


def test_pairs_skipped_by_may_match_never_match():
    profiles = [profile(r.values) for r in generate(seed=11, people=120)]
    skipped = 0
    for a, b in combinations(profiles, 2):
        if not may_match(a, b):
            skipped += 1
            points, _, blocking = score(a, b)
            assert not blocking and points < DUPLICATE_THRESHOLD, (a, b)
    assert skipped > 1000


def test_keys_include_the_name_in_its_district():
    keys = match_keys(profile({"student_name": "张 伟", "district": "海淀区", "phone": "13800138000"}))
    assert keys == {"phone:13800138000", "name:wei-zhang", "name:wei-zhang@海淀区"}


async def _store(admin, records) -> dict[int, int]:
    ids = {}
    for r in records:
        if r.variant == "original":
            ids[r.person] = (await services.create_lead(admin, {**r.values, "source": "other"}))["id"]
    return ids


async def test_find_duplicates_scores_like_every_lead_sharing_a_key(make_user):
    """The reference: every stored lead sharing a key, read from `lead` and profiled, scored."""
    admin = await make_user("admin")
    records = generate(seed=7, people=60)
    await _store(admin, records)
    leads = await load_candidates([r["id"] for r in await Lead.select(Lead.id)])
    stored = {i: profile(row) for i, row in leads.items()}
    keys_of = {i: match_keys(p) for i, p in stored.items()}
    compared = 0
    for r in records:
        me = profile(r.values)
        expected = set()
        for i, them in stored.items():
            if keys_of[i] & match_keys(me):
                points, reasons, blocking = score(me, them)
                if blocking or points >= DUPLICATE_THRESHOLD:
                    expected.add((i, points, reasons, blocking))
        found = await find_duplicates(r.values)
        assert {(m.lead_id, m.score, m.reasons, m.blocking) for m in found} == expected, r
        assert all(m.lead == leads[m.lead_id] for m in found)  # the rows callers show
        compared += bool(expected)
    assert compared > 60


async def test_a_same_district_lead_is_found_behind_a_crowded_name(make_user, monkeypatch):
    monkeypatch.setattr(check, "MAX_NAME_CANDIDATES", 5)
    admin = await make_user("admin")
    lead = {"student_name": "张伟", "source": "other"}
    first = await services.create_lead(admin, {**lead, "district": "海淀区", "phone": "13800138000"})
    for n in range(8):  # newer leads of the same name elsewhere fill the plain name block
        await services.create_lead(admin, {**lead, "district": f"区{n}", "phone": f"1390013900{n}"})
    found = await find_duplicates({"student_name": "Wei Zhang", "district": "海淀区"})
    assert [m.lead_id for m in found] == [first["id"]]
    by_key, _ = await check.stored_candidates(["name:wei-zhang"])
    assert len(by_key["name:wei-zhang"]) == 5 and first["id"] not in by_key["name:wei-zhang"]  # the newest 5


async def test_key_rows_without_a_profile_are_scored_from_the_lead(make_user):
    admin = await make_user("admin")
    lead = await services.create_lead(admin, {"student_name": "李娜", "phone": "13900139000", "source": "other"})
    await LeadMatchKey.update({LeadMatchKey.profile: ""}, force=True)
    found = await find_duplicates({"student_name": "Li Na", "phone": "139 0013 9000"})
    assert [(m.lead_id, m.blocking) for m in found] == [(lead["id"], True)]


async def _stored_keys() -> set[tuple[int, str, str]]:
    rows = await LeadMatchKey.select(LeadMatchKey.lead, LeadMatchKey.key, LeadMatchKey.profile)
    return {(r["lead"], r["key"], r["profile"]) for r in rows}


async def _expected_keys() -> set[tuple[int, str, str]]:
    leads = await load_candidates([r["id"] for r in await Lead.select(Lead.id)])
    return {row for i, lead in leads.items() for row in key_rows(i, profile(lead))}


async def test_writes_store_profiles_and_the_migration_rewrites_every_lead(make_user):
    admin = await make_user("admin")
    a = await services.create_lead(
        admin, {"student_name": "王芳", "district": "朝阳区", "phone": "13700137000", "source": "other"}
    )
    await services.update_lead(admin, a["id"], {"guardian_name": "王 刚", "wechat": "WF_1"}, version=a["version"])
    b = await services.create_lead(admin, {"student_name": "Fang Wang", "email": "f@qq.com", "source": "other"})
    assert await _stored_keys() == await _expected_keys()
    assert any(k == "name:fang-wang@朝阳区" for _, k, _ in await _stored_keys())

    # Keys as written before profiles existed: no profile, no name-in-district key.
    await LeadMatchKey.delete().where(LeadMatchKey.key.like("name:%@%"))
    await LeadMatchKey.update({LeadMatchKey.profile: ""}, force=True)
    path = MIGRATIONS / "leads_2026_12_02t16_49_58_920548.py"
    spec = importlib.util.spec_from_file_location("profiles_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.BATCH = 1  # several batches
    manager = await migration.forwards()
    async with UnitOfWork():
        for step in manager.raw:
            await step()
    assert await _stored_keys() == await _expected_keys()
    assert {m.lead_id for m in await find_duplicates({"student_name": "王芳", "phone": "137-0013-7000"})} == {a["id"]}
    assert {m.lead_id for m in await find_duplicates({"email": "F@qq.com", "student_name": "x"})} == {b["id"]}
