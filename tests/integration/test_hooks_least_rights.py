"""Hooks' commands run with the least rights that work (issue 18): a root bridge refuses a
command without a named user, runs it as that user with no supplementary groups, within
its timeout, and without the bridge's secret-looking environment variables."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.errors import BridgeError
from plugins.hooks.runas import RunAsError, clean_env, resolve
from tests.integration.bridgefix import wait_for
from tests.integration.test_hooks_host import HooksHarness, command_rule

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")

# Who the command is (uid, gid, groups) and its environment, one line each, then env.
REPORT = 'exec > "$1/report.txt"; id -u; id -g; id -G; env'


async def test_a_root_bridge_refuses_a_command_without_a_user(tmp_path: Path) -> None:
    async with HooksHarness(tmp_path, {"run_as": None}) as h:
        with pytest.raises(BridgeError) as info:
            await h.add(command_rule("anyone", ["true"]))
        assert info.value.code == "invalid-params"
        assert "run_as" in info.value.message
        with pytest.raises(BridgeError, match="no user 'no-such-user-xyz'"):
            await h.add({**command_rule("ghost", ["true"]),
                         "actions": [{"type": "command", "argv": ["true"],
                                      "run_as": "no-such-user-xyz"}]})
        assert await h.call("hooks.list") == []


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the user nobody may write to (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="podbridge-runas-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path)


async def test_a_command_runs_as_its_user_without_secrets(
        tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODBRIDGE_TOKEN", "t0ps3cret")
    monkeypatch.setenv("MY_API_KEY", "k3y")
    monkeypatch.setenv("HARMLESS", "fine")
    out = shared_dir
    nobody = pwd.getpwnam("nobody")
    async with HooksHarness(tmp_path, {"run_as": None}) as h:
        await h.add({**command_rule("as-nobody", []), "actions": [{
            "type": "command", "run_as": "nobody", "cwd": "/",
            "argv": ["/bin/sh", "-c", REPORT, "sh", str(out)]}]})
        h.publish("container.died", "web", {"exit_code": 1})
        await wait_for(lambda: len(h.hook_events) >= 1, what="the hook to fire")
        (record,) = await h.call("hooks.history", {"rule": "as-nobody"})
        assert record["kind"] == "fired", record
    uid, gid, groups, *env_lines = (out / "report.txt").read_text().splitlines()
    assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid)
    assert groups.split() == [str(nobody.pw_gid)], "no supplementary groups"
    env = dict(line.split("=", 1) for line in env_lines if "=" in line)
    assert "PODBRIDGE_TOKEN" not in env and "MY_API_KEY" not in env
    assert env["HARMLESS"] == "fine" and env["USER"] == "nobody"
    assert env["PODBRIDGE_RULE"] == "as-nobody"


def test_resolve_and_clean_env() -> None:
    with pytest.raises(RunAsError, match="root bridge"):
        resolve(None, None)
    assert resolve(None, "nobody").name == "nobody"
    assert resolve("0", "nobody").uid == 0  # the action's own choice wins
    env = clean_env({"PATH": "/bin", "GITHUB_TOKEN": "x", "DB_PASSWORD": "y",
                     "PODBRIDGE_SECRET": "z", "AWS_SECRET_ACCESS_KEY": "w"},
                    resolve("nobody", None))
    assert env["PATH"] == "/bin" and env["USER"] == "nobody"
    assert not {"GITHUB_TOKEN", "DB_PASSWORD", "PODBRIDGE_SECRET",
                "AWS_SECRET_ACCESS_KEY"} & set(env)
