"""The import's fast paths give exactly what the slow ones give: names read per character when no
dictionary word is inside, and 11-digit mobile numbers kept as they are."""

from __future__ import annotations

import random

import phonenumbers
from pypinyin import Style, lazy_pinyin

from app.leads.dedup import normalise as nm

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭肖欧阳司马诸葛单曾解仇朴区查乐翟长"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚英华玉萍红玲兰凤洁梅琳云佳嘉晓欢子轩浩宇梓涵一诺思雨朝阳长乐重行和"


def _pypinyin(name: str) -> tuple[str, ...]:
    chars = [c for c in name if nm.is_han(c)]
    out = lazy_pinyin("".join(chars), style=Style.NORMAL, errors="ignore")
    if chars and chars[0] in nm._SURNAME_READINGS and out:
        out[0] = nm._SURNAME_READINGS[chars[0]]
    return tuple(s.replace("v", "u") for s in out)


def test_names_read_like_pypinyin_reads_them():
    rng = random.Random(11)
    names = [
        rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 3)))) for _ in range(3000)
    ]
    names += ["".join(chr(rng.randrange(0x4E00, 0x9FA6)) for _ in range(3)) for _ in range(2000)]
    names += ["李朝阳", "张长乐", "王重阳", "欧阳娜娜", "司马光", "诸葛亮", "单田芳", "曾国藩", "乐嘉", "吕绿"]
    assert [nm._han_syllables.__wrapped__(n) for n in names] == [_pypinyin(n) for n in names]


def _libphonenumber(digits: str) -> str | None:
    number = phonenumbers.parse(digits, "CN")
    if not phonenumbers.is_possible_number(number):
        return None
    if phonenumbers.is_valid_number(number):
        return "".join(
            ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit()
        )
    national = str(number.national_number)
    return national if len(national) == 11 and national.startswith("1") else "0" + national


def test_mobile_numbers_normalise_like_libphonenumber_says():
    rng = random.Random(12)
    numbers = [f"1{d}{rng.randrange(10**9):09d}" for d in range(3, 10) for _ in range(700)]
    numbers += [f"1{d}{e}00{rng.randrange(10**6):06d}" for d in range(3, 10) for e in range(10) for _ in range(5)]
    numbers = [n for n in numbers if not n.startswith("179")]
    assert [nm.normalise_phone(n) for n in numbers] == [_libphonenumber(n) for n in numbers]
    assert nm.normalise_phone("17951 13800138000".replace(" ", "")) == _libphonenumber("1795113800138000")
