"""The import's duplicate check (dedup/bulk.py) finds what find_duplicates finds, with the same scores
and reasons, and reaches the labelled set's F1 for duplicates within a file."""

from __future__ import annotations

from app.leads import services
from app.leads.dedup.bulk import FileDuplicates
from app.leads.dedup.check import find_duplicates
from app.leads.dedup.labelled import generate, scores, true_pairs


async def _validated(admin, values: dict) -> dict | None:
    data, errors = await services.validate_new_lead(admin, {**values, "owner": None, "campus": None})
    return None if errors else data


async def test_stored_matches_are_those_of_find_duplicates(make_user):
    admin = await make_user("admin")
    records = generate(seed=7, people=80)
    for r in records:
        if r.variant == "original":
            await services.create_lead(admin, {**r.values, "source": "other"})
    rows = []
    for n, r in enumerate(records, start=2):
        if r.variant != "original" and (data := await _validated(admin, r.values)) is not None:
            rows.append((n, data))
    checker = FileDuplicates()
    found = await checker.check(rows)
    compared = 0
    for n, data in rows:
        mine = {(m.lead_id, m.score, m.reasons, m.blocking) for m in found[n] if m.lead_id}
        theirs = {(m.lead_id, m.score, m.reasons, m.blocking) for m in await find_duplicates(data)}
        assert mine == theirs, (n, data)
        compared += bool(theirs)
    assert compared > 40


async def test_duplicates_within_a_file_reach_f1_095(make_user):
    admin = await make_user("admin")
    records = generate()
    rows = [(i, data) for i, r in enumerate(records) if (data := await _validated(admin, r.values)) is not None]
    found = await FileDuplicates().check(rows)
    predicted = {tuple(sorted((i, m.index))) for i, matches in found.items() for m in matches if m.index is not None}
    valid = {i for i, _ in rows}
    actual = {p for p in true_pairs(records) if set(p) <= valid}
    precision, recall, f1 = scores(predicted, actual)
    assert precision >= 0.95 and recall >= 0.95 and f1 >= 0.95, (precision, recall, f1)


async def test_an_import_writes_the_keys_and_profiles_that_write_keys_writes(make_user):
    from app.jobs import services as jobs
    from app.leads.dedup.check import key_rows, load_candidates
    from app.leads.dedup.scoring import profile
    from app.leads.importing import services as importing
    from tables.leads.tables import Lead, LeadMatchKey
    from tests.integration.lead_import.helpers import csv_bytes, sample_rows

    admin = await make_user("admin")
    upload = await importing.store_upload(admin, "leads.csv", csv_bytes(sample_rows()))
    options = importing.ImportOptions(dry_run=False)
    job_id = await importing.start_import(admin, upload["token"], upload["suggestion"], options)
    await importing.run_import(job_id)
    assert (await jobs.load_job(job_id))["succeeded"] == 2
    leads = await load_candidates([r["id"] for r in await Lead.select(Lead.id)])
    expected = {row for i, lead in leads.items() for row in key_rows(i, profile(lead))}
    rows = await LeadMatchKey.select(LeadMatchKey.lead, LeadMatchKey.key, LeadMatchKey.profile)
    assert {(r["lead"], r["key"], r["profile"]) for r in rows} == expected
    assert all(p for _, _, p in expected)
