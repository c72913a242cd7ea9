"""Fill untranslated zh_CN msgids from a JSON object {msgid: msgstr}: `python scripts/fill_translations.py x.json`.

Helpers working in parallel hand in their new strings as JSON; this merges them into the catalogue
without touching existing translations, and lists what is still missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"


def fill(translations: dict[str, str]) -> list[str]:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    missing = []
    for message in catalog:
        if not message.id or message.string:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in translations:
            message.string = translations[key] if isinstance(message.id, str) else (translations[key],)
        else:
            missing.append(key)
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=0)
    return missing


if __name__ == "__main__":
    merged: dict[str, str] = {}
    for path in sys.argv[1:]:
        merged.update(json.loads(Path(path).read_text(encoding="utf-8")))
    left = fill(merged)
    print("still untranslated:", *left, sep="\n  ") if left else print("all translated")
