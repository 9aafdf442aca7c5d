"""New tokens are safe to pass on a command line: ``--token VALUE`` with a value that
starts with ``-`` is read by argparse as an option (the CLI then exits 2, a usage error)."""

from __future__ import annotations

from pathlib import Path

from bridge.auth import load_or_create_token
from bridge.cli import build_parser
from bridge.credentials import Credentials, new_token


def test_no_new_token_reads_as_an_option(tmp_path: Path) -> None:
    # token_urlsafe starts with "-" once in 64 draws: 2,000 draws catch it
    tokens = [new_token() for _ in range(2000)]
    tokens.append(load_or_create_token(tmp_path / "token"))
    creds = Credentials(tokens[-1], tmp_path / "tokens.json")
    tokens += [creds.add(f"u{i}", "viewer") for i in range(50)]
    assert len(set(tokens)) == len(tokens)
    parser = build_parser()
    for token in tokens:
        assert not token.startswith("-")
        args = parser.parse_args(["call", "--token", token, "bridge.status"])
        assert args.token == token and args.method == "bridge.status"
