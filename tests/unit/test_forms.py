"""Whole numbers out of form text: what counts as one, and what a too-big one becomes."""

from __future__ import annotations

import pytest

from app.core.errors import ValidationFailed
from app.core.forms import INT64_MAX, int_field, int_list, optional_int, parse_int

THIRTY_DIGITS = "9" * 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        ("0", 0),
        (" 12 ", 12),  # spaces a paste brings along
        ("１２", 12),  # full-width digits: int() reads them, and a Chinese IME may type them
        ("007", 7),
        (str(INT64_MAX), INT64_MAX),
        ("", None),
        ("   ", None),
        ("-1", None),  # ids, versions and positions are never negative
        ("+1", None),
        ("1.5", None),
        ("1e3", None),
        ("12abc", None),
        ("²", None),  # str.isdigit() says yes, int() raises: it used to be a 500
        ("1 2", None),
        (str(INT64_MAX + 1), None),  # past what the databases store
        (THIRTY_DIGITS, None),
        ("9" * 5000, None),  # past int()'s 4300-digit limit: None, not a ValueError
        (None, None),
        (12, 12),
        (-1, None),
        (True, None),  # a JSON true is not the number 1
        (1.0, None),
    ],
)
def test_parse_int(raw, expected):
    assert parse_int(raw) == expected


def test_parse_int_maximum():
    assert parse_int("59", maximum=59) == 59
    assert parse_int("60", maximum=59) is None


def test_optional_int_reads_the_field():
    data = {"team": "3", "campus": "", "version": THIRTY_DIGITS}
    assert optional_int(data, "team") == 3
    assert optional_int(data, "campus") is None
    assert optional_int(data, "missing") is None
    assert optional_int(data, "version") is None


def test_int_field_names_the_field_for_anything_but_a_number():
    assert int_field({"version": " 4 "}, "version", "Reload the page and try again.") == 4
    assert int_field({"version": ""}, "version", "Reload the page and try again.") is None
    assert int_field({}, "version", "Reload the page and try again.") is None
    for bad in ("-1", "x", THIRTY_DIGITS, "²"):
        with pytest.raises(ValidationFailed) as caught:
            int_field({"version": bad}, "version", "Reload the page and try again.")
        assert caught.value.by_field() == {"version": "Reload the page and try again."}


def test_int_list_keeps_numbers_in_order():
    assert int_list(["3", " 1 ", "", "x", "-2", THIRTY_DIGITS, "１０", 7]) == [3, 1, 10, 7]
    assert int_list([]) == []
