"""Money in templates: yuan with thousands separators and fen; values stored before a field became
money show unchanged instead of breaking the page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.templates import environment

money = environment.filters["money"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1280.00", "¥1,280.00"),
        ("9400", "¥9,400.00"),
        (Decimal("1234567.5"), "¥1,234,567.50"),
        (0, "¥0.00"),
        ("-35.2", "-¥35.20"),
        (None, ""),
        ("", ""),
        ("一千", "一千"),
        ("NaN", "NaN"),
    ],
)
def test_money_reads_like_a_receipt(value, shown):
    assert money(value) == shown
