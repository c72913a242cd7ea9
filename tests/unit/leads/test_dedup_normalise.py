"""Normalisation rules and match reasons of the duplicate detector, one rule per test case."""

from __future__ import annotations

import pytest

from app.core.i18n import gettext, set_locale
from app.leads.dedup.normalise import (
    name_syllables,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_wechat,
    split_syllables,
)
from app.leads.dedup.scoring import DUPLICATE_THRESHOLD, match_keys, profile, score


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１３８ ００１３ ８０００", "13800138000"),  # full-width digits
        ("＋８６ 138-0013-8000", "13800138000"),  # full-width plus
        ("+86 138 0013 8000", "13800138000"),
        ("86-13800138000", "13800138000"),
        ("010-6234 5678", "01062345678"),  # landline with area code
        ("(0755) 1234-5678", "075512345678"),
    ],
)
def test_phone_formats_meet(raw, expected):
    assert normalise_phone(raw) == expected


def test_email_and_wechat_fold_case_spaces_and_width():
    assert normalise_email("  Li.Ming@Example.COM ") == "li.ming@example.com"
    assert normalise_wechat(" WXID_ab 12 ") == "wxid_ab12"
    assert normalise_wechat("ＷＸ１２３") == "wx123"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张 伟", "张伟"),
        ("張偉", "张伟"),
        ("张\u3000伟", "张伟"),
        ("ＺＨＡＮＧ Wei", "zhangwei"),
        ("欧阳·娜娜", "欧阳娜娜"),
    ],
)
def test_names_fold_width_spaces_and_traditional_characters(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw", ["张伟", "張偉", "Zhang Wei", "zhangwei", "Wei Zhang", "ZHANG-WEI", "wei zhang"])
def test_every_spelling_of_zhang_wei_has_the_same_name_key(raw):
    assert "name:wei-zhang" in match_keys(profile({"student_name": raw}))


def test_syllables_split_latin_runs_and_read_surnames_as_surnames():
    assert split_syllables("xiaoming") == ("xiao", "ming")
    assert split_syllables("qwrt") is None
    assert name_syllables("单丽") == ("shan", "li")  # not dan
    assert name_syllables("曾小贤") == ("zeng", "xiao", "xian")  # not ceng
    assert name_syllables("Lyu Xiaoming") == name_syllables("吕晓明") == ("lu", "xiao", "ming")
    # "nyu" at the seam of two syllables is not ü: 袁云羽 written together
    assert name_syllables("Yunyu Yuan") == ("yun", "yu", "yuan")
    assert name_syllables("Junyue Ye") == ("jun", "yue", "ye")
    assert name_syllables("nyu") == ("nu",) and name_syllables("Lue") == ("lue",)
    assert name_syllables("Zhang Wie") == ("zhang", "wie")  # a typo stays whole


@pytest.fixture(autouse=True)
def english():
    set_locale("en")
    yield
    set_locale("zh_CN")


def _reasons(a: dict, b: dict) -> tuple[int, list[str], bool]:
    points, reasons, blocking = score(profile(a), profile(b))
    return points, [r.text(gettext) for r in reasons], blocking


def test_same_phone_in_another_format_blocks_and_says_why():
    points, reasons, blocking = _reasons(
        {"student_name": "张伟", "phone": "138 0013 8000"}, {"student_name": "张 伟", "phone": "+86-13800138000"}
    )
    assert blocking and points == 100
    assert reasons[:2] == ["same phone", "name 100%"]


def test_extra_phones_email_and_wechat_are_exact_matches():
    base = {"student_name": "李雷"}
    assert _reasons({**base, "phones": ["13900139000"]}, {**base, "phone": "139 0013 9000"})[1][0] == "same phone"
    assert _reasons({**base, "email": "A@b.cn"}, {**base, "email": "a@B.cn"})[1][0] == "same email"
    assert _reasons({**base, "wechat": "LiLei88"}, {**base, "wechat": "lilei88"})[1][0] == "same WeChat ID"


def test_fuzzy_name_and_district_warn_without_blocking():
    points, reasons, blocking = _reasons(
        {"student_name": "张伟", "district": "海淀区"}, {"student_name": "Wei Zhang", "district": "海淀区"}
    )
    assert not blocking and points >= DUPLICATE_THRESHOLD
    assert reasons == ["name 100%", "same district"]


def test_guardian_and_one_digit_phone_typo_are_reasons():
    points, reasons, _ = _reasons(
        {"student_name": "王小明", "guardian_name": "王建国", "phone": "13800138000"},
        {"student_name": "王晓明", "guardian_name": "王建国", "phone": "13800138001"},
    )
    assert "similar guardian name" in reasons and "phone differs by one digit" in reasons
    assert points >= DUPLICATE_THRESHOLD


def test_same_surname_and_district_is_not_a_duplicate():
    points, reasons, blocking = _reasons(
        {"student_name": "张伟", "district": "海淀区"}, {"student_name": "张敏", "district": "海淀区"}
    )
    assert not blocking and points < DUPLICATE_THRESHOLD
    assert reasons == ["same district"]


def test_reasons_are_translated():
    set_locale("zh_CN")
    _points, reasons, _ = _reasons(
        {"student_name": "张伟", "phone": "13800138000"}, {"student_name": "张伟", "phone": "13800138000"}
    )
    assert reasons == ["手机号相同", "姓名相似度 100%"]
