"""The Python that runs podbridge inside a world, as root or as any of its users.

- A world on the machine's own root (``Flavour.uses_host_root``): the machine's Python with
  this checkout and the site-packages of the running interpreter on its path (a
  virtualenv's python may live under root's home, closed to users: then the system
  python of the same version runs, with the same site-packages).
- A world on a built root filesystem: the tree's own python3 and the virtualenv
  :data:`bridge.sandbox.rootfs.VENV` built with it (PyPI wheels for that Python), with the
  checkout, which every such world has bound read-only at its own path
  (:func:`source_tree`), on its path. The machine's interpreter and libraries never run
  there: a Debian 12 Python would not load on Debian 13's libraries, nor the reverse.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.sandbox import rootfs

if TYPE_CHECKING:
    from bridge.sandbox.world import World


def source_tree() -> Path | None:
    """The checkout podbridge runs from (the folder holding bridge/ and plugins/), or None
    when it runs from an installed package (nothing to bind into a world then)."""
    tree = Path(__file__).resolve().parents[2]
    if (tree / "pyproject.toml").is_file() and (tree / "plugins").is_dir():
        return tree
    return None


def argv(world: World) -> list[str]:
    """``env PYTHONPATH=... PYTHON``: run with ``-m bridge ...`` inside ``world``."""
    tree = source_tree()
    if tree is None:
        raise RuntimeError("podbridge runs from an installed package: only a checkout can "
                           "be run inside a world")
    if not world.flavour.uses_host_root():
        return ["env", f"PYTHONPATH={tree}", f"{rootfs.VENV}/bin/python"]
    exe = Path(sys.executable).resolve()
    # A user runs it only if others may enter every folder above it (o+x).
    if not all(os.stat(p).st_mode & 0o001 for p in [*exe.parents, exe] if p != Path("/")):
        exe = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    path = ":".join([str(tree), *site.getsitepackages()])
    return ["env", f"PYTHONPATH={path}", str(exe)]


def wrapper(world: World) -> Path:
    """An executable ``podbridge`` in the world's folder (at the same path inside the
    world) that runs :func:`argv`: what a unit's ``ExecStart=`` inside the world names."""
    import shlex

    path = world.root / "podbridge-bin" / "podbridge"
    path.parent.mkdir(exist_ok=True)
    command = " ".join(shlex.quote(a) for a in argv(world))
    path.write_text(f'#!/bin/sh\nexec {command} -m bridge "$@"\n')
    path.chmod(0o755)
    path.parent.chmod(0o755)
    return path
