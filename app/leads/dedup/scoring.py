"""Score a pair of leads 0–100 and say why: "same phone", "name 92%", "same district".

Rules (the labelled set in `labelled.py` checks them; docs/LEADS.md explains them):
- The same phone, e-mail or WeChat id is an exact match: it blocks creation until confirmed.
  Its score is 75 plus a quarter of the name similarity (siblings share a parent's phone).
- Otherwise the score is 0.75 × name similarity, + 15 for the same district, + 15 for a similar
  guardian name, + 20 for a phone one digit away. 80 or more is reported as a likely duplicate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from app.core.i18n import N_
from app.leads.dedup.normalise import (
    is_han,
    name_key,
    name_syllables,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_wechat,
)

DUPLICATE_THRESHOLD = 80
EXACT_KINDS = ("phone", "email", "wechat")

REASON_TEXT = {
    "phone": N_("same phone"),
    "email": N_("same email"),
    "wechat": N_("same WeChat ID"),
    "name": N_("name %(pct)s%%"),
    "district": N_("same district"),
    "guardian": N_("similar guardian name"),
    "phone_typo": N_("phone differs by one digit"),
}


@dataclass(frozen=True)
class Reason:
    code: str
    pct: int = 0

    def text(self, translate) -> str:
        return translate(REASON_TEXT[self.code]) % {"pct": self.pct}


@dataclass(frozen=True)
class Profile:
    """A lead's fields in the forms that are compared; built once per lead per check."""

    name: str
    syllables: tuple[str, ...]
    guardian: str
    guardian_syllables: tuple[str, ...]
    phones: frozenset[str]
    email: str
    wechat: str
    district: str
    lead_id: int | None = None

    @property
    def han(self) -> bool:
        return is_han(self.name)


@dataclass
class Match:
    """A likely duplicate: a stored lead (`lead_id`) or, in `check_many`, another row of the batch (`index`)."""

    score: int
    reasons: tuple[Reason, ...]
    blocking: bool
    lead_id: int | None = None
    index: int | None = None
    lead: dict = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self, translate) -> dict:
        return {
            "id": self.lead_id,
            "score": self.score,
            "reasons": [r.text(translate) for r in self.reasons],
            "blocking": self.blocking,
        }


def _phones(values: dict) -> frozenset[str]:
    raw = [values.get("phone") or ""] + list(values.get("phones") or [])
    return frozenset(p for p in (normalise_phone(str(x)) for x in raw) if p)


def profile(values: dict, lead_id: int | None = None) -> Profile:
    student = values.get("student_name") or ""
    guardian = values.get("guardian_name") or ""
    return Profile(
        name=normalise_name(student),
        syllables=name_syllables(student),
        guardian=normalise_name(guardian),
        guardian_syllables=name_syllables(guardian),
        phones=_phones(values),
        email=normalise_email(values.get("email") or ""),
        wechat=normalise_wechat(values.get("wechat") or ""),
        district=normalise_name(values.get("district") or ""),
        lead_id=lead_id if lead_id is not None else values.get("id"),
    )


def match_keys(p: Profile) -> set[str]:
    """The blocking keys of a lead: every phone, the e-mail, the WeChat id, the pinyin of the name,
    and the pinyin of the name in its district.

    The name in its district (`name:wei-zhang@海淀区`) keeps a crowded name block (10,000 张伟 among
    a million leads) from hiding the one in the same district: a check reads at most
    `MAX_NAME_CANDIDATES` leads per name key, and a same-district lead is the likeliest duplicate.
    """
    keys = {f"phone:{x}" for x in p.phones}
    if p.email:
        keys.add(f"email:{p.email}")
    if p.wechat:
        keys.add(f"wechat:{p.wechat}")
    if p.syllables:
        name = f"name:{name_key(p.syllables)}"
        keys.add(name[:140])
        if p.district:
            keys.add(f"{name}@{p.district}"[:140])
    return keys


def is_name_key(key: str) -> bool:
    """A name key (with or without the district) finds fuzzy candidates; the others exact ones."""
    return key.startswith("name:")


# A profile stored with each match key (`LeadMatchKey.profile`), so that a check scores candidates
# without reading their leads or computing pinyin again: the fields of `Profile` in that order,
# lists joined by spaces. Normal forms hold no spaces (names, phones, WeChat ids) except perhaps an
# e-mail, which is one field; the separator itself is dropped from the values.
_FIELD_SEP = "\x1f"
_PROFILE_FIELDS = 8


def _field(text: str) -> str:
    return text.replace(_FIELD_SEP, "")


def encode_profile(p: Profile) -> str:
    return _FIELD_SEP.join(
        (
            _field(p.name),
            _field(" ".join(p.syllables)),
            _field(p.guardian),
            _field(" ".join(p.guardian_syllables)),
            _field(" ".join(sorted(p.phones))),
            _field(p.email),
            _field(p.wechat),
            _field(p.district),
        )
    )


def decode_profile(stored: str, lead_id: int | None = None) -> Profile | None:
    """The `Profile` that `encode_profile` stored; None when `stored` is empty or of another layout."""
    parts = stored.split(_FIELD_SEP) if stored else ()
    if len(parts) != _PROFILE_FIELDS:
        return None
    name, syllables, guardian, guardian_syllables, phones, email, wechat, district = parts
    return Profile(
        name,
        tuple(syllables.split()),
        guardian,
        tuple(guardian_syllables.split()),
        frozenset(phones.split()),
        email,
        wechat,
        district,
        lead_id,
    )


def may_match(a: Profile, b: Profile) -> bool:
    """Whether `score(a, b)` can be an exact match or reach `DUPLICATE_THRESHOLD`, by cheap tests only.

    Without the same phone, e-mail or WeChat id a pair scores at most 0.75 × 100 = 75 on the name,
    so it needs the same district, two guardian names or a phone one digit away besides. Most of a
    crowded name block fails all of these.
    """
    return bool(
        (a.phones and not a.phones.isdisjoint(b.phones))
        or (a.email and a.email == b.email)
        or (a.wechat and a.wechat == b.wechat)
        or (a.district and a.district == b.district)
        or (a.guardian and b.guardian)
        or (a.phones and b.phones and _one_digit_apart(a.phones, b.phones))
    )


def _sound_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Spelling similarity of the sorted syllables, averaged with the share of whole syllables in common:
    a shared surname alone (zhang wei / zhang min) must not look like a near match."""
    spelling = fuzz.token_sort_ratio(" ".join(a), " ".join(b))
    common = sum((Counter(a) & Counter(b)).values())
    return (spelling + 200 * common / (len(a) + len(b))) / 2


def name_similarity(a_name: str, a_syl: tuple[str, ...], b_name: str, b_syl: tuple[str, ...]) -> int:
    """0–100. Same characters count fully; the same sound in other characters (张伟/章伟) a little less."""
    if not a_name or not b_name:
        return 0
    sound = _sound_similarity(a_syl, b_syl) if a_syl and b_syl else 0.0
    if is_han(a_name) and is_han(b_name):
        return round(max(fuzz.ratio(a_name, b_name), 0.9 * sound))
    return round(max(sound, fuzz.token_sort_ratio(a_name, b_name) if not (is_han(a_name) or is_han(b_name)) else 0))


def _one_digit_apart(a: frozenset[str], b: frozenset[str]) -> bool:
    return any(len(x) == len(y) >= 7 and Levenshtein.distance(x, y, score_cutoff=1) == 1 for x in a for y in b)


def score(a: Profile, b: Profile) -> tuple[int, tuple[Reason, ...], bool]:
    """(score 0–100, reasons, blocking) for two leads."""
    reasons: list[Reason] = []
    if a.phones & b.phones:
        reasons.append(Reason("phone"))
    if a.email and a.email == b.email:
        reasons.append(Reason("email"))
    if a.wechat and a.wechat == b.wechat:
        reasons.append(Reason("wechat"))
    exact = len(reasons)
    name = name_similarity(a.name, a.syllables, b.name, b.syllables)
    if name >= 60:
        reasons.append(Reason("name", name))
    same_district = bool(a.district) and a.district == b.district
    if same_district:
        reasons.append(Reason("district"))
    guardian = name_similarity(a.guardian, a.guardian_syllables, b.guardian, b.guardian_syllables) >= 85
    if guardian:
        reasons.append(Reason("guardian"))
    if exact:
        return min(100, 75 + name // 4 + 5 * (exact - 1)), tuple(reasons), True
    typo = bool(a.phones and b.phones) and _one_digit_apart(a.phones, b.phones)
    if typo:
        reasons.append(Reason("phone_typo"))
    total = 0.75 * name + 15 * same_district + 15 * guardian + 20 * typo
    return min(100, round(total)), tuple(reasons), False
