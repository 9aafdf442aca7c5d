"""The leftover check looks at what the world owns, not at the whole machine: files other
programs create meanwhile (and other worlds) do not fail it; a real leak of the world does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bridge.sandbox import World
from bridge.sandbox.leftovers import HostSnapshot, leftovers, new_files_of
from tests.helpers import unique

pytestmark = pytest.mark.world  # boots worlds of its own


def test_foreign_files_pass_and_a_leak_of_the_world_is_caught(tmp_path: Path) -> None:
    before = HostSnapshot.take()
    w = World(tmp_path / "world").up()
    tag = unique("leftover-test")
    # What other programs of the machine make while the world runs (the two seen in the
    # wild): Podman's blob cache folder and a unit installed on the host.
    # And another world's leak, which names that world, not this one.
    foreign = [Path("/var/lib/containers") / f"{tag}-cache", Path("/etc/systemd/system") /
               f"{tag}.service", Path("/var/lib/containers") / f"{tag}-other-world.conf"]
    # A leak of the world: a file written from inside it to a folder it shares with the
    # machine, naming the world's storage (as a stray Podman state or config file would).
    leak = Path("/var/lib/containers") / f"{tag}-leak.conf"
    try:
        foreign[0].mkdir(parents=True)
        (foreign[0] / "blob-info-cache-v1.boltdb").write_bytes(b"\0" * 64)
        foreign[1].write_text("[Service]\nExecStart=/bin/true\n")
        foreign[2].write_text(f'graphroot = "{tmp_path}/podbridge-0123abcd/storage"\n')
        w.run(["sh", "-c", f"echo 'graphroot = \"{w.root}/storage\"' > {leak}"])
    finally:
        w.down()
    try:
        left = leftovers(w, before)
        mine, others = new_files_of(w, before)
        assert f"file {leak}" in left, left
        assert not [f for f in foreign if f"file {f}" in left], left
        assert {str(p) for p in foreign} <= set(others)
        # Nothing else of the world was left, and a world that owns none of it is clean.
        assert [x for x in left if x != f"file {leak}"] == [], left
        assert mine == [str(leak)]
    finally:
        shutil.rmtree(foreign[0], ignore_errors=True)
        for path in (*foreign[1:], leak):
            path.unlink(missing_ok=True)

