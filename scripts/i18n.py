"""Keep the catalogues in step with the code: `python scripts/i18n.py` (or `make messages`).

Extracts every msgid (Python and Jinja) into locale/messages.pot and merges it into each
locale's messages.po, keeping existing translations. New msgids arrive untranslated; the test
suite fails until zh_CN translates them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = [
    "_",
    "N_",
    "gettext",
    "ngettext:1,2",
    "FieldError:2",
    "one:2",
    "NotFound",
    "Forbidden",
    "Conflict",
    "DomainError",
    "ValidationFailed:2",
    "Throttled",
]
LOCALES = ["zh_CN", "en"]


def extract(pot: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "babel.messages.frontend",
        "extract",
        "-F",
        "babel.cfg",
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-o",
        str(pot),
    ]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    subprocess.run([*args, "."], cwd=ROOT, check=True, capture_output=True)


def update(pot: Path) -> None:
    for locale in LOCALES:
        po = ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        args = [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            command,
            "-i",
            str(pot),
            "-d",
            str(ROOT / "locale"),
            "-l",
            locale,
            "--no-wrap",
        ]
        if command == "update":
            args += ["--no-fuzzy-matching", "--ignore-obsolete"]
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)


if __name__ == "__main__":
    pot_path = ROOT / "locale" / "messages.pot"
    pot_path.parent.mkdir(exist_ok=True)
    extract(pot_path)
    update(pot_path)
    print(f"updated catalogues from {pot_path}")
