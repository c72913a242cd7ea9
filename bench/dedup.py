"""Duplicate check of one new lead against 100,000 and 1,000,000 stored leads (target p95 < 50 ms).

Stored leads and their match keys are bulk-inserted with raw SQL (sqlite3 executemany, or
PostgreSQL COPY). Names: 95 % drawn from surname × one or two given characters, 5 % from 50
very common names (张伟, 王芳 …), so some name blocks hold thousands of leads and the candidate
cap is exercised. Probes, one third each: the same phone of a stored lead written differently
(exact match), the pinyin of a stored lead's name in the same district (fuzzy match), a new person.
Each probe is timed around `find_duplicates()` in process (keys, queries, scoring); for the exact
and fuzzy probes it also counts whether the stored lead they were made from is among the matches.
Also times `check_many()` on a batch of 1,000 probes (the importer's call).

python bench/dedup.py [--backend sqlite|postgres] [--sizes 100000,1000000] [--probes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import time

from common import environment, machine, percentiles

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚英华玉萍红玲兰凤洁梅琳素云莲真雪荣爱香月瑞凡佳嘉琼珍莉晶妍"
    "秋珊锦青倩婷颖露瑶怡丹蓉君琴蕊薇梦岚馨韵园艺卿聪澜悦昭冰爽羽希宁欣育柔竹凝晓欢霄枫芸菲寒伊亚宜可舒"
)
POPULAR = [
    "张伟",
    "王伟",
    "王芳",
    "李伟",
    "李娜",
    "张敏",
    "李静",
    "王静",
    "刘伟",
    "王秀英",
    "张丽",
    "李秀英",
    "王丽",
    "张静",
    "张秀英",
    "李强",
    "王敏",
    "李敏",
    "王磊",
    "刘洋",
    "王艳",
    "王勇",
    "李军",
    "张勇",
    "李杰",
    "张杰",
    "张磊",
    "王强",
    "李娟",
    "王军",
    "张艳",
    "张涛",
    "王涛",
    "李艳",
    "王超",
    "李明",
    "李勇",
    "王娟",
    "刘杰",
    "刘敏",
    "李霞",
    "李丽",
    "张军",
    "王杰",
    "张强",
    "王秀兰",
    "王刚",
    "王平",
    "刘芳",
    "张燕",
]
DISTRICTS = [f"区{i}" for i in range(60)]
_FORMATS = [lambda p: f"+86 {p[:3]} {p[3:7]} {p[7:]}", lambda p: f"{p[:3]}-{p[3:7]}-{p[7:]}", lambda p: f"0086{p}"]


def _people(n: int, rng: random.Random):
    phones = rng.sample(range(13000000000, 19999999999), n)
    for i in range(n):
        if rng.random() < 0.05:
            name = rng.choice(POPULAR)
        else:
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        email = f"u{i}@example.cn" if rng.random() < 0.15 else ""
        wechat = f"wx_{i}" if rng.random() < 0.4 else ""
        yield {
            "student_name": name,
            "phone": str(phones[i]),
            "email": email,
            "wechat": wechat,
            "district": rng.choice(DISTRICTS),
        }


def _rows(n: int, seed: int):
    """Leads and their `lead_match_key` rows (lead, key, profile), as `write_keys` would write them."""
    from dataclasses import replace

    from app.leads.dedup.check import key_rows
    from app.leads.dedup.normalise import normalise_email, normalise_name, normalise_phone, normalise_wechat
    from app.leads.dedup.scoring import profile

    rng = random.Random(seed)
    by_name: dict = {}  # the pinyin of a name once, not once per lead
    leads, keys = [], []
    for lead_id, p in enumerate(_people(n, rng), start=1):
        leads.append((lead_id, p["student_name"], p["phone"], p["email"], p["wechat"], p["district"]))
        named = by_name.get(p["student_name"])
        if named is None:
            named = by_name[p["student_name"]] = profile({"student_name": p["student_name"]})
        phone = normalise_phone(p["phone"])
        me = replace(
            named,
            phones=frozenset([phone] if phone else []),
            email=normalise_email(p["email"]),
            wechat=normalise_wechat(p["wechat"]),
            district=normalise_name(p["district"]),
            lead_id=lead_id,
        )
        keys.extend(key_rows(lead_id, me))
    return leads, keys


_LEAD_SQL = "INSERT INTO lead (id, student_name, phone, email, wechat, district, status, source) VALUES "


async def _load(backend: str, url: str, n: int, seed: int) -> float:
    began = time.perf_counter()
    leads, keys = _rows(n, seed)
    if backend == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.execute("DELETE FROM lead_match_key")
        con.execute("DELETE FROM lead")
        con.executemany(_LEAD_SQL + "(?, ?, ?, ?, ?, ?, 'new', 'other')", leads)
        con.executemany("INSERT INTO lead_match_key (lead, key, profile) VALUES (?, ?, ?)", keys)
        con.commit()
        con.execute("ANALYZE")
        con.close()
    else:
        import asyncpg

        con = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
        await con.execute("TRUNCATE lead_match_key, lead RESTART IDENTITY CASCADE")
        await con.copy_records_to_table(
            "lead",
            records=[(*r, "new", "other") for r in leads],
            columns=["id", "student_name", "phone", "email", "wechat", "district", "status", "source"],
        )
        await con.copy_records_to_table("lead_match_key", records=keys, columns=["lead", "key", "profile"])
        await con.execute("SELECT setval(pg_get_serial_sequence('lead', 'id'), $1)", n)
        await con.execute("ANALYZE lead; ANALYZE lead_match_key")
        await con.close()
    return time.perf_counter() - began


def _probes(n_stored: int, count: int, seed: int) -> list[tuple[str, dict, int | None]]:
    """(kind, values, the id of the stored lead it duplicates or None) for each probe."""
    from app.leads.dedup.normalise import name_syllables

    stored = list(_people(n_stored, random.Random(seed)))
    rng = random.Random(seed + 1)
    probes = []
    for i in range(count):
        kind = ("exact", "fuzzy", "new")[i % 3]
        if kind == "new":
            probes.append(
                (
                    kind,
                    {
                        "student_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                        "phone": str(rng.randrange(13000000000, 19999999999)),
                        "district": "区1",
                    },
                    None,
                )
            )
            continue
        index = rng.randrange(n_stored)
        p = stored[index]
        if kind == "exact":
            probes.append(
                (kind, {**p, "phone": rng.choice(_FORMATS)(p["phone"]), "email": "", "wechat": ""}, index + 1)
            )
        else:
            syllables = name_syllables(p["student_name"])
            latin = f"{''.join(syllables[1:]).capitalize()} {syllables[0].capitalize()}"
            probes.append((kind, {"student_name": latin, "district": p["district"], "phone": "13000000000"}, index + 1))
    return probes


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(backend: str, sizes: list[int], probes: int) -> None:
    from app.leads.dedup.check import check_many, find_duplicates

    url = os.environ["DATABASE_URL"]
    if backend == "postgres":
        from piccolo_conf import DB

        await DB.start_connection_pool()
    print(f"# {machine()} · {backend}")
    for n in sizes:
        load_s = await _load(backend, url, n, seed=n)
        cases = _probes(n, probes, seed=n)
        for _, values, _ in cases[:20]:  # warm up: pypinyin tables, prepared statements
            await find_duplicates(values)
        timings: dict[str, list[float]] = {"exact": [], "fuzzy": [], "new": []}
        found = {"exact": 0, "fuzzy": 0, "new": 0}
        recalled = {"exact": 0, "fuzzy": 0, "new": 0}
        for kind, values, target in cases:
            began = time.perf_counter()
            matches = await find_duplicates(values)
            timings[kind].append((time.perf_counter() - began) * 1000)
            found[kind] += bool(matches)
            recalled[kind] += target in {m.lead_id for m in matches}
        every = [t for ts in timings.values() for t in ts]
        print(f"stored={n:>9,} load={load_s:6.1f}s all: {percentiles(every)} load average: {_load_average()}")
        for kind, ts in timings.items():
            recall = f", the duplicated lead found: {recalled[kind]}/{len(ts)}" if kind != "new" else ""
            print(f"    {kind:<6} {percentiles(ts)} with a match: {found[kind]}/{len(ts)}{recall}")
        batch = [v for _, v, _ in _probes(n, 1000, seed=n + 7)]
        began = time.perf_counter()
        await check_many(batch)
        print(f"    check_many(1,000 rows): {time.perf_counter() - began:.2f}s")
    if backend == "postgres":
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--probes", type=int, default=300)
    args = parser.parse_args()
    with environment(args.backend):
        from app.wiring import wire

        wire()
        asyncio.run(run(args.backend, [int(s) for s in args.sizes.split(",")], args.probes))


if __name__ == "__main__":
    main()
