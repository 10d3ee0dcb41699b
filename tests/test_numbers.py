"""The one parser for whole numbers that arrive as text."""

from __future__ import annotations

import pytest

from mock_server.numbers import parse_int


@pytest.mark.parametrize("text", ["0", "7", "250", "60000"])
def test_ascii_digits_within_the_bound_are_numbers(text: str) -> None:
    assert parse_int(text, maximum=60_000) == int(text)


@pytest.mark.parametrize(
    "text",
    ["", " 5", "5 ", "+5", "-5", "5_0", "5.0", "0x10", "\u00b2", "\u2460", "\u0663", "\uff15", "60001", "9" * 5000],
)
def test_anything_else_is_not_a_number(text: str) -> None:
    assert parse_int(text, maximum=60_000) is None


def test_the_lower_bound_holds() -> None:
    assert parse_int("99", minimum=100, maximum=599) is None
    assert parse_int("100", minimum=100, maximum=599) == 100


def test_no_text_is_not_a_number() -> None:
    assert parse_int(None, maximum=10) is None
