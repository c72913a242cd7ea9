"""Files the app keeps under its var directory."""

from __future__ import annotations

from pathlib import Path

from app.core.errors import NotFound


def path_under(root: Path, stored_name: str) -> Path:
    """`root / stored_name`, refused when the name would lead outside `root` ("../", absolute paths)."""
    root = root.resolve()
    path = (root / stored_name).resolve()
    if root not in path.parents:
        raise NotFound("This file does not exist.")
    return path
