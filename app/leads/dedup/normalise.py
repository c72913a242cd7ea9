"""Normal forms of the things people write differently: phones, e-mail, WeChat ids, names.

A name is compared in two forms: its characters (full-width folded, spaces gone, the most common
traditional characters simplified) and its Mandarin syllables, so that "Zhang Wei", "zhangwei",
"Wei Zhang" and 張 偉 all meet 张伟.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from app.leads.dedup.syllables import SYLLABLES

_PHONE_NOISE = re.compile(r"[\s\-()（）.]")
_NAME_NOISE = re.compile(r"[\s·•・.\-_'’,，。]+")
_LATIN_TOKEN = re.compile(r"[a-z]+")

# Traditional → simplified for the characters common in Chinese names. A full converter (OpenCC)
# is far larger; names draw on a small set of characters, and the pinyin form covers the rest.
_TRADITIONAL = str.maketrans(
    "張陳劉黃楊趙吳孫馬許鄭謝韓馮鄧蕭葉蘇盧呂蔣賈閻鍾範譚鄒陸顧龍萬錢湯喬賀賴龔嚴鄔歐陽聶華莊溫紀"
    "偉強紅軍傑濤麗靜豔艷輝鵬飛軒瑩雲鳳蘭嬌雙鐵寶貝曉東國慶興誠義禮書詩語夢穎億樂愛懷凱順駿瀟灝"
    "錦綺綠潔鳴嶺勝傳進達遠運曄暉煒碩誌訓聰穩齊韻嵐鶴鴻鵬揚樺濱潤澤銳鋒鈞銘錫鑫閔闊霞驍麒",
    "张陈刘黄杨赵吴孙马许郑谢韩冯邓萧叶苏卢吕蒋贾阎钟范谭邹陆顾龙万钱汤乔贺赖龚严邬欧阳聂华庄温纪"
    "伟强红军杰涛丽静艳艳辉鹏飞轩莹云凤兰娇双铁宝贝晓东国庆兴诚义礼书诗语梦颖亿乐爱怀凯顺骏潇灏"
    "锦绮绿洁鸣岭胜传进达远运晔晖炜硕志训聪稳齐韵岚鹤鸿鹏扬桦滨润泽锐锋钧铭锡鑫闵阔霞骁麒",
)
# Surnames whose everyday reading is not the one pypinyin picks for the character on its own.
_SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "盖": "ge",
    "乐": "yue",
    "翟": "zhai",
    "秘": "bi",
    "缪": "miao",
    "覃": "qin",
    "尉": "yu",
    "柏": "bai",
    "种": "chong",
    "重": "chong",
    "召": "shao",
    "长": "chang",
    "万": "wan",
}
# How people write ü in Latin letters.
_LATIN_U = (("lyu", "lv"), ("nyu", "nv"), ("lue", "lve"), ("nue", "nve"))


def _fold(raw: str) -> str:
    """Full-width letters, digits and spaces to ordinary ones (NFKC)."""
    return unicodedata.normalize("NFKC", raw or "")


def normalise_phone(raw: str) -> str | None:
    """Mainland numbers in national form (13800138000, 01062345678); "" when empty, None when not a phone."""
    digits = _PHONE_NOISE.sub("", _fold(raw))
    if not digits:
        return ""
    if (
        len(digits) == 11
        and digits.isascii()
        and digits.isdigit()
        and digits[0] == "1"
        and digits[1] in "3456789"
        and not digits.startswith("179")
    ):
        # A mobile number 13x–19x is its own national form whether libphonenumber knows its range or not
        # (see the fallback below), so an import of 100,000 rows skips ~100 µs of parsing per number.
        # 179xx is left to libphonenumber: it strips carrier prefixes such as 17951.
        return digits
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    if number.country_code == 86:
        if phonenumbers.is_valid_number(number):
            # The national format knows that Beijing's 010 keeps its 0 and that 400 numbers have none.
            national_form = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            return re.sub(r"\D", "", national_form)
        # Not in libphonenumber's ranges (e.g. a brand-new mobile prefix): mobiles are 11 digits from 1.
        return national if len(national) == 11 and national.startswith("1") else "0" + national
    return f"+{number.country_code}{national}"


def normalise_email(raw: str) -> str:
    return _fold(raw).strip().lower()


def normalise_wechat(raw: str) -> str:
    """WeChat ids are case-insensitive; people paste them with stray spaces."""
    return re.sub(r"\s+", "", _fold(raw)).lower()


_HAN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


def is_han(text: str) -> bool:
    return _HAN.search(text) is not None


def normalise_name(raw: str) -> str:
    """张 伟 / 張偉 / ＺＨＡＮＧ　Wei → 张伟 / 张伟 / zhangwei: folded, no spaces, simplified, lower case."""
    return _NAME_NOISE.sub("", _fold(raw)).translate(_TRADITIONAL).lower()


_CHAR_READING: dict[str, str | None] = {}


def _char_reading(ch: str) -> str | None:
    """pypinyin's reading of a character on its own, toneless (cached per character)."""
    if ch not in _CHAR_READING:
        from pypinyin import Style, lazy_pinyin

        _CHAR_READING[ch] = (lazy_pinyin(ch, style=Style.NORMAL, errors="ignore") or [None])[0]
    return _CHAR_READING[ch]


def _in_a_word(chars: list[str]) -> bool:
    """Whether some run of 2+ characters is a word in pypinyin's phrase dictionary (a word can read a
    character differently: 长乐 chang le, 朝阳 zhao yang)."""
    from pypinyin.constants import PHRASES_DICT

    text = "".join(chars)
    return any(text[i:j] in PHRASES_DICT for i in range(len(text)) for j in range(i + 2, len(text) + 1))


@lru_cache(maxsize=4096)
def _han_syllables(name: str) -> tuple[str, ...]:
    from pypinyin import Style, lazy_pinyin  # imported on first use: loading its tables takes 0.5 s

    chars = [ch for ch in name if is_han(ch)]
    if not chars:
        return ()
    # Without a dictionary word inside, pypinyin reads each character on its own: the same readings
    # from a per-character cache cost ~3 µs instead of ~100 µs a name (an import reads 100,000 names).
    quick = None if len(chars) > 8 or _in_a_word(chars) else [_char_reading(ch) for ch in chars]
    if quick and all(quick):
        out = quick
    else:
        out = lazy_pinyin("".join(chars), style=Style.NORMAL, errors="ignore")
    if chars[0] in _SURNAME_READINGS and out:
        out[0] = _SURNAME_READINGS[chars[0]]
    return tuple(s.replace("v", "u") for s in out)


@lru_cache(maxsize=4096)
def split_syllables(token: str) -> tuple[str, ...] | None:
    """Split a run of Latin letters into the fewest Mandarin syllables ("xiaoming" → xiao ming); None if it is not pinyin."""
    n = len(token)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            piece = token[start:end]
            if prev is not None and piece in SYLLABLES and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = (*prev, piece)
    return best[n]


def name_syllables(raw: str) -> tuple[str, ...]:
    """The Mandarin syllables of a name in written order, ü as u: 张伟 → (zhang, wei); "Wei Zhang" → (wei, zhang).

    A Latin word that is not pinyin (a typo, an English name) stays whole, so it still compares.
    """
    text = _fold(raw).translate(_TRADITIONAL).lower()
    if is_han(text):
        return _han_syllables(_NAME_NOISE.sub("", text))
    text = text.replace("ü", "v")
    out: list[str] = []
    for token in _LATIN_TOKEN.findall(text):
        # "Lyu", "nyu", "lue" may be ü spelled out ("lue" is lüe, one syllable), or the seam of two
        # syllables ("yunyu" is yun yu, not yu nü): the reading with fewer syllables wins, a tie
        # goes to the letters as written.
        written_parts = split_syllables(token)
        spelled = token
        for written, pinyin in _LATIN_U:
            spelled = spelled.replace(written, pinyin)
        parts = written_parts
        if spelled != token:
            u_parts = split_syllables(spelled)
            if u_parts is not None and (written_parts is None or len(u_parts) < len(written_parts)):
                parts = u_parts
            elif written_parts is None:
                token = spelled
        out.extend(s.replace("v", "u") for s in (parts if parts else (token,)))
    return tuple(out)


def name_key(syllables: tuple[str, ...]) -> str:
    """Order-free: the family name first or last gives the same key."""
    return "-".join(sorted(syllables))
