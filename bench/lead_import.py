"""Import of 100,000 lead rows with duplicate checks against stored leads (target: under 60 s).

Stored leads and their match keys are bulk-inserted as in bench/dedup.py (5 % of the names are 50
very common ones). The CSV file: 10 % rows of stored people (the phone written differently: an
exact duplicate), 3 % repeats of an earlier row of the file, 2 % invalid rows (no name or a
phone that is not one), the rest new people, half of them with a guardian name; all with a
district. The dry run and then the import (`run_import`, the arq job's body) run in this
process and are timed end to end: reading the file, validation, duplicate checks, writes.

python bench/lead_import.py [--backend sqlite|postgres] [--stored 100000] [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import time

from common import environment, machine
from dedup import _FORMATS, DISTRICTS, GIVEN, SURNAMES, _load, _people

HEADERS = ["学员姓名", "家长姓名", "手机", "微信", "区", "年级", "来源"]


def _file(stored: int, rows: int, seed: int) -> bytes:
    people = list(_people(stored, random.Random(stored)))  # the same people _load stored
    rng = random.Random(seed)
    out, written = [], []
    for i in range(rows):
        roll = rng.random()
        if roll < 0.10:
            p = people[rng.randrange(stored)]
            row = [p["student_name"], "", rng.choice(_FORMATS)(p["phone"]), "", p["district"], "", "抖音"]
        elif roll < 0.13 and written:
            row = list(rng.choice(written))
        elif roll < 0.15:
            row = (
                ["", "王芳", "13900000000", "", "区1", "", ""]
                if rng.random() < 0.5
                else ["刘备", "", "电话不详", "", "", "", ""]
            )
        else:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            guardian = rng.choice(SURNAMES) + rng.choice(GIVEN) if rng.random() < 0.5 else ""
            phone = str(rng.randrange(15000000000, 15999999999))
            row = [
                name,
                guardian,
                phone,
                f"wx{i}" if rng.random() < 0.3 else "",
                rng.choice(DISTRICTS),
                "三年级",
                "地推",
            ]
            written.append(row)
        out.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(out)
    return buffer.getvalue().encode("utf-8-sig")


async def run(backend: str, stored: int, rows: int) -> None:
    import os

    from app.jobs import services as jobs
    from app.leads.importing import services as importing
    from tables.leads.tables import Lead
    from tests.support import make_user

    if backend == "postgres":
        from piccolo_conf import DB

        await DB.start_connection_pool()
    print(f"# {machine()} · {backend}")
    load_s = await _load(backend, os.environ["DATABASE_URL"], stored, seed=stored)
    admin = await make_user("admin")
    data = _file(stored, rows, seed=7)
    print(f"stored={stored:,} (load {load_s:.1f}s) file: {rows:,} rows, {len(data) / 1e6:.1f} MB CSV")
    upload = await importing.store_upload(admin, "bench.csv", data)
    for dry_run in (True, False):
        options = importing.ImportOptions(dry_run=dry_run, owner=None)
        job_id = await importing.start_import(admin, upload["token"], upload["suggestion"], options)
        began = time.perf_counter()
        await importing.run_import(job_id)
        took = time.perf_counter() - began
        job = await jobs.load_job(job_id)
        label = "dry run" if dry_run else "import "
        print(
            f"{label}: {took:6.1f}s  {rows / took:7.0f} rows/s  status={job['status']} ok={job['succeeded']:,} "
            f"failed={job['failed']:,} {job['result']}"
        )
    print(f"leads stored after the import: {await Lead.count():,}")
    if backend == "postgres":
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the import")
    args = parser.parse_args()
    with environment(args.backend):
        from app.wiring import wire

        wire()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(asyncio.run, run(args.backend, args.stored, args.rows))
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        else:
            asyncio.run(run(args.backend, args.stored, args.rows))


if __name__ == "__main__":
    main()
