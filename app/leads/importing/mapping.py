"""Column mapping of a lead import: which field each column of the file holds.

Headers are compared after NFKC, lower case, without spaces, `*`, brackets and colons, against the
fields' labels in every language and the names people use (姓名, 学员姓名, 家长, 手机/电话, 微信…).
Cells of status and source may be the key or a label in any language.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

from app.core.errors import FieldError, ValidationFailed
from app.core.i18n import N_, gettext, set_locale
from app.core.i18n import _current as _current_locale
from app.leads import services
from app.settings import get_settings

IMPORT_FIELDS = (
    "student_name",
    "guardian_name",
    "phone",
    "phones",
    "email",
    "wechat",
    "city",
    "district",
    "grade",
    "course_interests",
    "source",
    "source_campaign",
    "status",
    "invalid_reason",
    "note",
    "next_follow_up_on",
)
# Headers people write, normalised (see _header_form); the fields' own labels in every language are added.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "student_name": (
        "姓名",
        "学员姓名",
        "学生姓名",
        "学员",
        "学生",
        "孩子姓名",
        "孩子",
        "name",
        "student",
        "studentname",
    ),
    "guardian_name": ("家长", "家长姓名", "监护人", "联系人", "guardian", "parent", "parentname", "guardianname"),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "电话号码",
        "联系电话",
        "家长电话",
        "家长手机",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "phonenumber",
        "mobilephone",
        "cellphone",
    ),
    "phones": ("其他电话", "备用电话", "其他号码", "otherphones"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"),
    "wechat": ("微信", "微信号", "wechat", "wechatid", "weixin"),
    "city": ("城市", "所在城市", "city"),
    "district": ("区", "区县", "地区", "所在区", "区域", "district", "area"),
    "grade": ("年级", "grade"),
    "course_interests": ("意向课程", "课程", "意向", "感兴趣课程", "course", "courses", "courseinterests", "interests"),
    "source": ("来源", "渠道", "线索来源", "来源渠道", "source", "channel"),
    "source_campaign": ("活动", "推广活动", "来源活动", "campaign"),
    "status": ("状态", "线索状态", "status"),
    "invalid_reason": ("无效原因", "invalidreason"),
    "note": ("备注", "说明", "note", "notes", "remark", "remarks", "comment", "comments"),
    "next_follow_up_on": ("下次跟进", "下次跟进日期", "下次跟进时间", "nextfollowup"),
}
_HEADER_NOISE = re.compile(r"[\s*＊:：()（）\[\]【】_\-/]+")
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def _header_form(header: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", header or "")).lower()


def _in_locale(locale: str, msgid: str) -> str:
    token = set_locale(locale)
    try:
        return gettext(msgid)
    finally:
        _current_locale.reset(token)


@lru_cache(maxsize=1)
def _synonyms() -> list[tuple[str, str]]:
    """(normalised header, field), longest first, so that 家长姓名 is the guardian before 姓名 is the student."""
    pairs = {(_header_form(s), f) for f, names in HEADER_SYNONYMS.items() for s in names}
    for field in IMPORT_FIELDS:
        for locale in get_settings().locales:
            pairs.add((_header_form(_in_locale(locale, services.FIELD_LABELS[field])), field))
    return sorted(pairs, key=lambda p: (-len(p[0]), p[1]))


def suggest_mapping(headers: list[str]) -> list[str]:
    """The field each column most likely holds ("" to skip it): exact header names first, then a known
    name inside the header ("学员姓名（必填）"); a field goes to one column only."""
    forms = [_header_form(h) for h in headers]
    mapping = [""] * len(headers)
    for exact in (True, False):
        for i, form in enumerate(forms):
            if mapping[i] or not form:
                continue
            for synonym, field in _synonyms():
                hit = form == synonym if exact else (len(synonym) >= 2 and synonym in form)
                if hit and field not in mapping:
                    mapping[i] = field
                    break
    return mapping


def parse_mapping(raw, headers: list[str]) -> list[str]:
    """A mapping from the API or a form: a JSON object {header: field}, a JSON list of fields by column,
    or None for the suggestion. Raises naming `mapping` when it is unusable."""
    if raw in (None, ""):
        mapping = suggest_mapping(headers)
    else:
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            raise ValidationFailed([FieldError("mapping", N_("Send the mapping as JSON."))]) from None
        if isinstance(value, dict):
            mapping = [str(value.get(h) or "") for h in headers]
        elif isinstance(value, list):
            mapping = [str(v or "") for v in value][: len(headers)] + [""] * max(0, len(headers) - len(value))
        else:
            raise ValidationFailed([FieldError("mapping", N_("Send the mapping as JSON."))])
    return check_mapping(mapping)


def check_mapping(mapping: list[str]) -> list[str]:
    errors = []
    chosen = [f for f in mapping if f]
    if any(f not in IMPORT_FIELDS for f in chosen):
        errors.append(FieldError("mapping", N_("Map columns only to the listed fields.")))
    if len(chosen) != len(set(chosen)):
        errors.append(FieldError("mapping", N_("Map each field to one column only.")))
    if "student_name" not in chosen:
        errors.append(FieldError("mapping", N_("Choose the column with the student's name.")))
    if not {"phone", "wechat", "email"} & set(chosen):
        errors.append(FieldError("mapping", N_("Choose a column with a phone, WeChat ID or email.")))
    if errors:
        raise ValidationFailed(errors)
    return mapping


@lru_cache(maxsize=4)
def _choice_lookup(name: str) -> dict[str, str]:
    """Cell text → key for status and source: the key, its English label or its label in any language."""
    choices = services.STATUSES if name == "status" else services.SOURCES
    out: dict[str, str] = {}
    for key, label in choices.items():
        out[key] = key
        out[label.lower()] = key
        for locale in get_settings().locales:
            out[_in_locale(locale, label).lower()] = key
    return out


def _iso_date(text: str) -> str:
    found = _DATE.match(text)
    return f"{found[1]}-{int(found[2]):02d}-{int(found[3]):02d}" if found else text


def row_values(cells: list[str], mapping: list[str]) -> dict:
    values = {field: cells[i] if i < len(cells) else "" for i, field in enumerate(mapping) if field}
    for name in ("status", "source"):
        if values.get(name):
            values[name] = _choice_lookup(name).get(values[name].strip().lower(), values[name])
    if values.get("next_follow_up_on"):
        values["next_follow_up_on"] = _iso_date(values["next_follow_up_on"].strip())
    return values
