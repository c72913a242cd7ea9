"""A labelled set of duplicate leads that the project generates itself (seeded, so stable).

Each generated person is entered one to three times in the ways people really do it: the phone
with +86, spaces, dashes or full-width digits; the name with spaces, traditional characters, in
pinyin with either order or run together; a typo in one digit or one letter; reached through
another channel (the same WeChat id or e-mail with a new phone). Hard negatives are other people
with the same surname in the same district, or the same full name elsewhere.

`evaluate()` runs the real pipeline (blocking keys, then scores) over the whole set and returns
precision, recall and F1 over pairs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import combinations

from app.leads.dedup.normalise import _TRADITIONAL, name_syllables

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉萍红娥玲兰凤洁梅琳素云莲真雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
DISTRICTS = ["海淀区", "朝阳区", "东城区", "西城区", "丰台区", "浦东新区", "徐汇区", "天河区", "南山区", "武侯区"]
_FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")
_SIMPLIFIED_TO_TRADITIONAL = {v: k for k, v in _TRADITIONAL.items()}


@dataclass
class Record:
    person: int
    values: dict
    variant: str


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _phone_format(rng: random.Random, phone: str) -> str:
    return rng.choice(
        [
            lambda p: f"+86 {p[:3]} {p[3:7]} {p[7:]}",
            lambda p: f"{p[:3]}-{p[3:7]}-{p[7:]}",
            lambda p: f"+86-{p}",
            lambda p: p.translate(_FULL_WIDTH),
            lambda p: f"(+86){p[:3]} {p[3:]}",
            lambda p: f"0086 {p}",
        ]
    )(phone)


def _latin(name: str, swapped: bool, joined: bool) -> str:
    syllables = name_syllables(name)
    family, given = syllables[0].capitalize(), "".join(syllables[1:])
    if joined:
        return (family + given).lower()
    return f"{given.capitalize()} {family}" if swapped else f"{family} {given.capitalize()}"


def _one_letter_typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text + "e"
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swap two neighbouring letters


def _one_digit_typo(rng: random.Random, phone: str) -> str:
    i = rng.randrange(3, len(phone))
    return phone[:i] + str((int(phone[i]) + rng.randint(1, 8)) % 10) + phone[i + 1 :]


def _person(rng: random.Random, surname: str | None = None, district: str | None = None) -> dict:
    surname = surname or rng.choice(SURNAMES)
    given = "".join(rng.sample(GIVEN, rng.choice((1, 2, 2))))
    parent_given = "".join(rng.sample(GIVEN, 2))
    values = {
        "student_name": surname + given,
        "guardian_name": surname + parent_given,
        "phone": _mobile(rng),
        "district": district or rng.choice(DISTRICTS),
    }
    if rng.random() < 0.3:
        values["email"] = f"{rng.choice('abcdefgh')}{rng.randint(1000, 99999)}@{rng.choice(['qq.com', '163.com'])}"
    if rng.random() < 0.4:
        values["wechat"] = f"wx_{rng.randint(100000, 9999999)}"
    return values


def _variant(rng: random.Random, original: dict) -> tuple[dict, str]:
    v = dict(original)
    kind = rng.choice(
        [
            "phone_format",
            "name_spaces",
            "traditional",
            "pinyin",
            "pinyin_swapped",
            "pinyin_joined",
            "phone_typo",
            "latin_typo",
            "wechat_new_phone",
            "email_new_phone",
            "extra_phone",
        ]
    )
    name = original["student_name"]
    if kind == "phone_format":
        v["phone"] = _phone_format(rng, original["phone"])
    elif kind == "name_spaces":
        v["student_name"] = rng.choice([f"{name[0]} {name[1:]}", f"{name[0]}\u3000{name[1:]}", f" {name} "])
        v["phone"] = _phone_format(rng, original["phone"])
    elif kind == "traditional":
        v["student_name"] = "".join(chr(_SIMPLIFIED_TO_TRADITIONAL.get(ord(c), ord(c))) for c in name)
    elif kind.startswith("pinyin"):
        v["student_name"] = _latin(name, swapped=kind == "pinyin_swapped", joined=kind == "pinyin_joined")
        v["guardian_name"] = ""
    elif kind == "phone_typo":  # same child, same district and parent; a digit mistyped
        v["phone"] = _one_digit_typo(rng, original["phone"])
    elif kind == "latin_typo":
        v["student_name"] = _one_letter_typo(rng, _latin(name, swapped=False, joined=True))
    elif kind in ("wechat_new_phone", "email_new_phone"):
        field = "wechat" if kind == "wechat_new_phone" else "email"
        v.setdefault(
            field, f"wx_{rng.randint(10**6, 10**7)}" if field == "wechat" else f"p{rng.randint(10**6, 10**7)}@qq.com"
        )
        original[field] = v[field]
        v["phone"] = _mobile(rng)
    else:  # the other parent's number, with the first one as an extra phone
        v["phones"] = [_phone_format(rng, original["phone"])]
        v["phone"] = _mobile(rng)
    return v, kind


def generate(seed: int = 20261202, people: int = 400) -> list[Record]:
    rng = random.Random(seed)
    records: list[Record] = []
    for person in range(people):
        original = _person(rng)
        copies = [_variant(rng, original) for _ in range(rng.choice((0, 1, 1, 2)))]
        records.append(Record(person, original, "original"))
        records += [Record(person, values, kind) for values, kind in copies]
    # Hard negatives: same surname in the same district; the same full name in another district.
    for n in range(people // 2):
        model = rng.choice(records).values
        other = _person(rng, surname=model["student_name"][0], district=model["district"])
        if n % 4 == 0:
            other["student_name"] = model["student_name"]
            other["district"] = rng.choice([d for d in DISTRICTS if d != model["district"]])
        records.append(Record(people + n, other, "hard_negative"))
    rng.shuffle(records)
    return records


def true_pairs(records: list[Record]) -> set[tuple[int, int]]:
    return {(i, j) for i, j in combinations(range(len(records)), 2) if records[i].person == records[j].person}


def scores(predicted: set[tuple[int, int]], actual: set[tuple[int, int]]) -> tuple[float, float, float]:
    hits = len(predicted & actual)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(actual) if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def predicted_pairs(matches: list[list]) -> set[tuple[int, int]]:
    """Pairs from `check_many` results over the set (in-batch matches)."""
    return {tuple(sorted((i, m.index))) for i, found in enumerate(matches) for m in found if m.index is not None}
