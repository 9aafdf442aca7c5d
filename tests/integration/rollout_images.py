"""Images for rollout tests, pushed as ``REGISTRY/demo/app:latest`` (the tag every demo
host follows): a good one, one that fails at start, one that crashes a few seconds after it
started. Each is built from the world's httpd:v2 with a label that makes it new (its own
digest), with ``podman build`` inside the first host's world (no network needed)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from bridge.sandbox.images import HTTPD_V2
from bridge.sandbox.world import World

GOOD = 'CMD ["/bin/serve"]'
BROKEN = 'CMD ["/bin/sh", "-c", "echo broken at start >&2; exit 1"]'
# Up and ready (the unit's start job is done), then dead CRASH_AFTER seconds later.
CRASH_AFTER = 3


def late_crash(after: float = CRASH_AFTER) -> str:
    return (f'CMD ["/bin/sh", "-c", "httpd -f -p 80 -h /var/www & sleep {after:g}; '
            'echo crashing late >&2; exit 3"]')


def push_variant(world: World, registry: str, cmd: str) -> str:
    """Build a new image (``cmd``) and push it as REGISTRY/demo/app:latest: its digest."""
    mark = uuid.uuid4().hex[:12]
    # The world's folder var-tmp is its /var/tmp (its /tmp is its own).
    outside = world.root / "var-tmp" / f"build-{mark}"
    outside.mkdir(parents=True)
    folder = Path("/var/tmp") / f"build-{mark}"
    (outside / "Containerfile").write_text(f"FROM {HTTPD_V2}\nLABEL io.podbridge.test.build="
                                          f"{mark}\n{cmd}\n")
    local = f"localhost/podbridge/rollout:{mark}"
    world.podman("build", "--quiet", "--network", "none", "-t", local, str(folder))
    image = f"{registry}/demo/app:latest"
    digest_file = folder / "digest"
    world.podman("push", "--quiet", "--digestfile", str(digest_file), local, image)
    digest = (outside / "digest").read_text().strip()
    world.podman("rmi", local, check=False)
    shutil.rmtree(outside, ignore_errors=True)
    return digest


def local_digests(world: World) -> set[str]:
    """Every digest the host's Podman has of the demo repository."""
    out = world.podman("images", "--format", "json").stdout
    found: set[str] = set()
    for img in json.loads(out or "[]"):
        found.add(str(img.get("Digest") or ""))
        for rd in img.get("RepoDigests") or []:
            found.add(str(rd).partition("@")[2])
    return found - {""}
