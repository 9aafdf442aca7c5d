"""pflag's unsigned flags (strconv.ParseUint with base 0), as `podbridge generate systemd`
reads --stop-timeout, --start-timeout, --restart-sec and -t. The answers are Podman
4.3.1's, recorded on Debian 12 with `podman generate systemd --stop-timeout VALUE` (its
TimeoutStopSec is 60 + VALUE) and `--restart-sec VALUE`."""

from __future__ import annotations

import pytest

from bridge.gotext import flag_uint
from plugins.unit_generator.cli_args import parse_generate_args
from plugins.unit_generator.errors import GenerateError

ACCEPTED = {"010": 8, "0x10": 16, "1_000": 1000, "0b11": 3, "0o17": 15, "0": 0, "00": 0,
            "0_10": 8, "0x_1F": 31, "0B1": 1, "0XaB": 171, "0x1_0": 16, "1_0_0": 100,
            "0b_1": 1, "00_1": 1, "18446744073709551615": 2**64 - 1}
SYNTAX = ["_1", "1_", "0x", "1__0", "0o", "0b2", "08", "0_", "²", "\u212a", "+3", "٣", ""]
RANGE = ["18446744073709551616", "99999999999999999999x"]


@pytest.mark.parametrize(("text", "number"), ACCEPTED.items())
def test_accepted_as_podman_reads_them(text: str, number: int) -> None:
    assert flag_uint(text, "--stop-timeout") == number


@pytest.mark.parametrize(("text", "why"), [*((t, "invalid syntax") for t in SYNTAX),
                                           *((t, "value out of range") for t in RANGE)])
def test_refused_in_podman_s_words(text: str, why: str) -> None:
    quoted = f'"{text}"'
    with pytest.raises(ValueError) as info:
        flag_uint(text, "--stop-timeout")
    assert str(info.value) == (f'invalid argument {quoted} for "--stop-timeout" flag: '
                               f"strconv.ParseUint: parsing {quoted}: {why}")


def test_generate_reads_octal_and_hex_as_podman_does() -> None:
    options = parse_generate_args(["systemd", "--stop-timeout", "010", "--restart-sec",
                                   "0x10", "x"]).options
    assert (options.stop_timeout, options.restart_sec) == (8, 16)
    assert parse_generate_args(["systemd", "-t", "1_0", "x"]).options.time == 10
    with pytest.raises(GenerateError, match='parsing "08": invalid syntax'):
        parse_generate_args(["systemd", "--start-timeout", "08", "x"])
