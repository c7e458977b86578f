"""The server reads durations (``OTS_TTL_MAX=2w``) with the CLI's grammar (``ots --ttl 2w``)
but its own copy of it, since ``ots_cli`` and ``ots_server`` never import each other: here the
two are held to the same answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core.durations import format_duration as cli_format
from ots_cli.core.durations import parse_duration as cli_parse
from ots_cli.errors import UsageError
from ots_server.parsers import format_duration, parse_duration

#: Strings near the grammar: digits, unit letters (both cases), and a few strays.
NEAR = st.text(alphabet="0123456789wdhmsWDHMS x.-", max_size=14)
CASES = [
    "90", "90s", "1h30m", "7d", "2w", "1w2d3h4m5s", "1H", "0", "0s", "00m", "1m1h", "1hh",
    "h", "", "5000000000", "9999999999", "3650d", "36500d", "36501d", "1.5h", "-1", "٣",
]  # fmt: skip


def _cli(text: str) -> int | None:
    try:
        return cli_parse(text)
    except UsageError:
        return None


def _server(text: str) -> int | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _agree(text: str) -> None:
    server, cli = _server(text), _cli(text)
    if server == 0:  # zero is the server's own extra (OTS_*_INTERVAL=0): the CLI refuses it
        assert cli is None
    elif text == text.strip():  # the server refuses white space the CLI trims
        assert server == cli, text
    else:
        assert server is None


def test_the_listed_cases_read_the_same() -> None:
    for text in CASES:
        _agree(text)


@given(NEAR)
def test_any_text_near_the_grammar_reads_the_same(text: str) -> None:
    _agree(text)


@given(st.integers(min_value=-5, max_value=10**10))
def test_durations_are_shown_the_same(seconds: int) -> None:
    assert format_duration(seconds) == cli_format(seconds)
