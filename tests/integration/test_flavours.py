"""Each flavour of the world runs what the README's "Tested with" table says it does.

The table is read from README.md and compared with what the world itself reports: its
os-release, `systemctl --version`, Podman's /version and /libpod/info, which Quadlet
generator makes a unit from a file in /etc/containers/systemd, and the Cockpit packages
installed in it (what tests/browser/test_cockpit.py runs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bridge.client import BridgeClient
from bridge.podman_compat import PodmanCompat
from bridge.sandbox import World
from bridge.sandbox.world import UnixHTTPConnection

README = Path(__file__).parents[2] / "README.md"


def readme_rows() -> dict[str, dict[str, str]]:
    """The "Tested with" table: flavour -> column -> text."""
    text = README.read_text()
    section = text.split("## Tested with", 1)[1].split("\n## ", 1)[0]
    lines = []
    for ln in section.splitlines():  # the first table of the section
        if ln.startswith("|"):
            lines.append(ln)
        elif lines:
            break
    header = [c.strip().lower() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        row = dict(zip(header, cells, strict=True))
        rows[row["flavour"].split()[0]] = row
    return rows


def libpod_info(world: World) -> dict[str, object]:
    conn = UnixHTTPConnection(world.podman_socket, 30)
    try:
        conn.request("GET", "/v4.0.0/libpod/info")
        info: dict[str, object] = json.loads(conn.getresponse().read())
        return info
    finally:
        conn.close()


def test_the_world_runs_what_the_readme_says(world: World) -> None:
    row = readme_rows()[world.flavour.name]
    os_release = world.run(["cat", "/etc/os-release"]).stdout
    assert f'VERSION_ID="{world.flavour.version_id}"' in os_release
    assert row["distribution"].startswith(f"Debian {world.flavour.version_id} ")
    systemd = world.run(["systemctl", "--version"]).stdout.split()[1]
    assert row["systemd"] == systemd
    version = world.podman_version()
    assert row["podman"] == version
    info = libpod_info(world)
    host = info["host"]
    assert isinstance(host, dict)
    assert row["runtime"] == host["ociRuntime"]["name"] == world.flavour.runtime
    assert row["events backend"] == host["eventLogger"] == world.flavour.events_logger
    assert row["log driver"] == host["logDriver"] == world.flavour.log_driver
    if world.flavour.journald:
        assert world.systemctl("is-active", "systemd-journald.service").stdout.strip() \
            == "active"
    compat = PodmanCompat(version)
    quadlet = row["quadlet"].lower()
    assert ("podman's own" in quadlet) == compat.native_quadlet == bool(
        world.flavour.native_quadlet)
    # The world's own Cockpit (the machine's where the world runs the machine's Debian, the
    # tree's otherwise), as Debian packaged it: the upstream part of each version.
    found = dict(line.split("=", 1) for line in world.run(
        ["dpkg-query", "-W", "-f=${Package}=${Version}\n", "cockpit-ws", "cockpit-podman"]
    ).stdout.split())
    assert row["cockpit / cockpit-podman"] == " / ".join(
        found[p].split("-")[0] for p in ("cockpit-ws", "cockpit-podman"))


def test_the_readme_names_every_flavour() -> None:
    from bridge.sandbox.flavours import FLAVOURS

    assert set(readme_rows()) == set(FLAVOURS)
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", r["podman"]) for r in readme_rows().values())


async def test_podman_info_has_one_shape_for_both(world: World, client: BridgeClient) -> None:
    info = await client.call("podman.info")
    assert info["version"] == world.podman_version()
    assert info["events_backend"] == world.flavour.events_logger
    assert info["runtime"] == world.flavour.runtime
    assert info["log_driver"] == world.flavour.log_driver
    assert info["graph_root"] == str(world.root / "storage")
    # A field only Podman 5 has is there, or None: never missing.
    assert info["database_backend"] == (
        "sqlite" if PodmanCompat(info["version"]).at_least(5) else None)
