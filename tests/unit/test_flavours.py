"""The flavours of the test world: their settings, the root filesystem's cache key and
mirror, and the containers.conf each one gets (pure logic; the worlds themselves are
tested in tests/integration)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bridge.sandbox import flavours, images, rootfs
from bridge.sandbox.containers_config import write_containers_config


def test_get_and_selected(monkeypatch: pytest.MonkeyPatch) -> None:
    assert flavours.get(None).name == flavours.DEFAULT == "debian12"
    assert flavours.get("debian13").suite == "trixie"
    with pytest.raises(flavours.UnknownFlavour, match="debian12, debian13"):
        flavours.get("fedora")
    monkeypatch.delenv(flavours.FLAVOURS_ENV, raising=False)
    assert flavours.selected() == ["debian12", "debian13"]
    monkeypatch.setenv(flavours.FLAVOURS_ENV, "debian13")
    assert flavours.selected() == ["debian13"]
    monkeypatch.setenv(flavours.FLAVOURS_ENV, "debian12, debian13")
    assert flavours.selected() == ["debian12", "debian13"]
    monkeypatch.setenv(flavours.FLAVOURS_ENV, "debian11")
    with pytest.raises(flavours.UnknownFlavour):
        flavours.selected()


def test_os_release_and_host_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n')
    assert flavours.os_release(tmp_path)["VERSION_CODENAME"] == "trixie"
    monkeypatch.setattr(flavours, "host_codename", lambda: "trixie")
    assert flavours.get("debian13").uses_host_root()
    assert not flavours.get("debian12").uses_host_root()
    monkeypatch.setenv(flavours.ROOTFS_ENV, "always")
    assert not flavours.get("debian13").uses_host_root()


def test_cache_key_follows_the_package_list(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("PODBRIDGE_CACHE", str(tmp_path))
    flav = flavours.get("debian13")
    more = dataclasses.replace(flav, packages=(*flav.packages, "strace"))
    assert rootfs.key(flav) != rootfs.key(more)
    assert rootfs.key(flav) == rootfs.key(dataclasses.replace(
        flav, packages=tuple(reversed(flav.packages))))
    assert rootfs.path_of(flav).parent == tmp_path
    assert rootfs.path_of(flav).name.startswith("rootfs-debian13-")


def test_cache_key_follows_the_apt_package_list() -> None:
    """Cockpit, installed with apt after debootstrap, is in every built tree; a changed
    apt list builds a new tree, as a changed debootstrap list does."""
    for name in flavours.FLAVOURS:
        flav = flavours.get(name)
        assert {"cockpit-ws", "cockpit-bridge", "cockpit-podman"} <= set(flav.apt_packages)
        assert not set(flav.apt_packages) & set(rootfs.packages(flav))
    flav = flavours.get("debian13")
    more = dataclasses.replace(flav, apt_packages=(*flav.apt_packages, "strace"))
    assert rootfs.key(flav) != rootfs.key(more)
    assert rootfs.key(flav) == rootfs.key(dataclasses.replace(
        flav, apt_packages=tuple(reversed(flav.apt_packages))))
    # The same name in the other list is another recipe.
    moved = dataclasses.replace(flav, packages=(*flav.packages, "strace"))
    assert rootfs.key(moved) != rootfs.key(more)


def test_cache_key_follows_podbridges_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tree's virtualenv holds pyproject.toml's dependencies: a changed list, a new tree;
    python3 and its venv module are in every tree."""
    flav = flavours.get("debian13")
    deps = rootfs.requirements()
    assert any(d.startswith("aiohttp") for d in deps), deps
    assert {"python3", "python3-venv"} <= set(rootfs.packages(flav))
    before = rootfs.key(flav)
    monkeypatch.setattr(rootfs, "requirements", lambda: [*deps, "extra-thing>=1"])
    assert rootfs.key(flav) != before


def test_the_image_cache_clean_up_spares_the_flavours_trees(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """images.rootfs_tars removes its own outdated tars and storages, never a flavour's
    root filesystem in the same cache folder (it did, under a running world)."""
    monkeypatch.setenv("PODBRIDGE_CACHE", str(tmp_path))
    tree = tmp_path / "rootfs-debian13-0123456789abcdef"
    (tree / "usr").mkdir(parents=True)
    old_tars = tmp_path / "rootfs-fedcba9876543210"
    old_storage = tmp_path / "storage-fedcba9876543210-debian13"
    for folder in (old_tars, old_storage):
        folder.mkdir()
    monkeypatch.setattr(images, "_applets", lambda: ["sh"])
    images.rootfs_tars()
    assert tree.is_dir() and (tree / "usr").is_dir()
    assert not old_tars.exists() and not old_storage.exists()


def test_mirror_is_the_one_apt_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PODBRIDGE_DEBIAN_MIRROR", raising=False)
    monkeypatch.setattr(rootfs, "_apt_uris", lambda: [
        "http://security.debian.org/debian-security", "http://mirror.example/debian/"])
    assert rootfs.mirror() == "http://mirror.example/debian"
    monkeypatch.setattr(rootfs, "_apt_uris", lambda: [])
    assert rootfs.mirror() == rootfs.DEFAULT_MIRROR
    monkeypatch.setenv("PODBRIDGE_DEBIAN_MIRROR", "http://local/debian")
    assert rootfs.mirror() == "http://local/debian"


def test_containers_conf_per_flavour(tmp_path: Path) -> None:
    write_containers_config(tmp_path / "12", tmp_path / "g", "127.0.0.1:5000", "net")
    old = (tmp_path / "12" / "containers.conf").read_text()
    assert 'runtime = "runc"' in old and 'events_logger = "file"' in old
    assert 'log_driver = "k8s-file"' in old and "firewall_driver" not in old
    write_containers_config(tmp_path / "13", tmp_path / "g", "127.0.0.1:5000", "net",
                            flavour="debian13")
    new = (tmp_path / "13" / "containers.conf").read_text()
    # Podman's own defaults (journald) where journald runs.
    assert 'runtime = "crun"' in new and "events_logger" not in new
    assert "log_driver" not in new and 'firewall_driver = "iptables"' in new


def test_each_flavour_names_its_events_backend_and_log_driver() -> None:
    """What tests/integration/test_flavours.py compares with libpod's eventLogger and
    logDriver in each world: journald where journald runs, else the files."""
    for name in flavours.FLAVOURS:
        flav = flavours.get(name)
        assert flav.events_logger == ("journald" if flav.journald else "file"), name
        assert flav.log_driver == ("journald" if flav.journald else "k8s-file"), name
    assert {flavours.get(n).events_logger for n in flavours.FLAVOURS} == {"file", "journald"}

def test_make_run_picks_the_machines_own_flavour(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` boots the world of the machine's Debian (its own systemd and Podman, no
    tree to build); on anything else the default."""
    monkeypatch.delenv(flavours.ROOTFS_ENV, raising=False)
    for codename, name in (("trixie", "debian13"), ("bookworm", "debian12"),
                           ("", flavours.DEFAULT), ("forky", flavours.DEFAULT)):
        monkeypatch.setattr(flavours, "host_codename", lambda c=codename: c)
        assert flavours.host_flavour() == name
        assert flavours.get(name).uses_host_root() == (codename in ("trixie", "bookworm"))
