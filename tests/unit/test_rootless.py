"""Pure parts of the rootless support: owners on the bus, user discovery, the preflight's
checks, default paths, the unit folder check, the world's user plan."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bridge.bus import Bus
from bridge.errors import InvalidParams, NotFound
from bridge.events import Event
from bridge.owners import Owner, OwnerBus, Owners, check_owner_param, running_user_managers
from bridge.rootless import bus_path, has_subids
from bridge.sandbox.users import UserError, check_name, plan
from plugins.auto_update import authfile
from plugins.unit_generator.install import InstallError, check_writable, fit_for_rootless_v1

ALICE = Owner(1601, "alice")


def test_owner_bus_tags_what_an_owner_publishes_and_hears_only_its_own() -> None:
    bus = Bus(ring_size=100, queue_size=10)
    system, alice, bob = OwnerBus(bus, None), OwnerBus(bus, ALICE), OwnerBus(bus, Owner(2, "b"))
    heard: dict[str, list[str]] = {"system": [], "alice": [], "bob": []}
    for who, view in (("system", system), ("alice", alice), ("bob", bob)):
        def listener(e: Event, _raw: bytes, who: str = who) -> None:
            heard[who].append(e.subject)
        view.listen(["container.*"], listener)
    ev = alice.publish("container.start", "podman", "web", {"id": "1"})
    assert ev.data == {"id": "1", "uid": 1601, "user": "alice"}
    system.publish("container.start", "podman", "db", {"id": "2"})
    assert heard == {"system": ["db"], "alice": ["web"], "bob": []}
    assert system.seq == alice.seq == bus.seq


def test_running_user_managers_are_runtime_folders_with_a_bus(tmp_path: Path) -> None:
    for uid in ("1601", "1602", "0", "abc"):
        (tmp_path / uid).mkdir()
    with socket.socket(socket.AF_UNIX) as s1, socket.socket(socket.AF_UNIX) as s0:
        s1.bind(str(tmp_path / "1601" / "bus"))
        s0.bind(str(tmp_path / "0" / "bus"))
        (tmp_path / "1602" / "bus").write_text("not a socket")
        assert running_user_managers(tmp_path) == {1601: tmp_path / "1601"}
    assert running_user_managers(tmp_path / "missing") == {}


def test_owner_param_names_the_fix() -> None:
    owners = Owners(Bus(ring_size=10, queue_size=10))
    assert check_owner_param(None, owners) is None
    assert check_owner_param("system", None) is None
    with pytest.raises(NotFound, match="loginctl enable-linger carol"):
        check_owner_param("carol", owners)
    with pytest.raises(InvalidParams, match="serves one owner only"):
        check_owner_param("alice", None)
    assert ALICE.matches("alice") and ALICE.matches("1601") and not ALICE.matches("bob")


def test_subid_files_and_bus_addresses(tmp_path: Path) -> None:
    subuid = tmp_path / "subuid"
    subuid.write_text("bob:100000:65536\n1601:165536:65536\nempty:231072:0\n")
    assert has_subids(subuid, "bob", 1602)
    assert has_subids(subuid, "alice", 1601)  # by uid
    assert not has_subids(subuid, "empty", 1603)
    assert not has_subids(tmp_path / "none", "bob", 1602)
    assert bus_path("unix:path=/run/user/1601/bus") == Path("/run/user/1601/bus")
    assert bus_path("unix:abstract=x") is None


def test_auth_file_paths_follow_containers_image(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    paths = authfile.default_paths()
    assert paths[1] == tmp_path / "cfg" / "containers" / "auth.json"
    assert paths[-1].name == "config.json"


def test_unit_folder_check(tmp_path: Path) -> None:
    check_writable(tmp_path / "home" / ".config" / "systemd" / "user")  # made later
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InstallError, match=r"is not a folder.*Fix: .*nothing was written"):
        check_writable(blocker / "systemd" / "user")


def test_cgroup_v1_fit_of_quadlet_files() -> None:
    files = {"web.container": "[Container]\nImage=x\n",
             "set.container": "[Container]\nCgroupsMode=enabled\n", "p.pod": "[Pod]\n"}
    fitted, warnings = fit_for_rootless_v1(files)
    assert fitted["web.container"] == "[Container]\nCgroupsMode=no-conmon\nImage=x\n"
    assert fitted["set.container"] == files["set.container"]
    assert fitted["p.pod"] == files["p.pod"]
    assert len(warnings) == 1 and "web.container" in warnings[0]


def test_world_user_names_and_plan(tmp_path: Path) -> None:
    assert check_name("alice") == "alice"
    for bad in ("Alice", "1abc", "a b", "", "x" * 32):
        with pytest.raises(UserError):
            check_name(bad)
    with pytest.raises(UserError, match="given twice"):
        plan(tmp_path, ["alice", "alice"])
    a, b = plan(tmp_path, ["alice", "bob"])
    assert a.uid != b.uid and b.subid >= a.subid + 65536
    assert str(a.runtime_dir) == f"/run/user/{a.uid}"
    assert a.env()["DBUS_SESSION_BUS_ADDRESS"] == f"unix:path=/run/user/{a.uid}/bus"
