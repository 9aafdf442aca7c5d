"""The issue's "Show", in a world of its own: podbridge auto-update, then the real
podman auto-update on the same scenario with other units, and the same tables.

Units: REG (policy registry, image in the world's registry), LOC (policy local, a local
tag), DEAD (policy registry, a name whose registry does not answer). Steps: nothing new ->
false; new images -> pending in a dry run, then true and the new image served; broken
images (their command cannot be executed, as in upstream's test) -> rolled back and the
previous image served again; DEAD -> failed all along, its
container untouched.

DEAD's outcome depends on Podman's version, and podbridge follows the Podman it talks
to: Podman 4 ignores a failed registry check ("Error checking updates ... (ignoring
error)", at debug level) and reports ``false`` with exit status 0; Podman 5 reports
``failed`` (exit 125). ``--compat 5`` makes podbridge follow Podman 5's rules on any
Podman (test_registry_errors_have_clear_reasons).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from tests.bench.autoupdate import (
    Unit,
    container_image,
    dead_registry_image,
    image_id,
    ours,
    podmans,
    remove_units,
    results,
    serving,
    start_units,
    unexecutable_image,
)
from tests.integration.autoupdate_dropin import podman_major

Tool = Callable[..., tuple[int, list[dict[str, Any]], str]]


def scenario(world: World, tool: Tool, tag: str, dead: str) -> list[dict[str, str]]:
    """Run the steps with ``tool``; the results by role, one dict per step."""
    uid = f"{tag}{uuid.uuid4().hex[:6]}"
    remote = f"{world.registry}/podbridge/au-{uid}:latest"
    local = f"localhost/podbridge/au-{uid}-local:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    world.podman("tag", HTTPD_V1, local)
    unreachable = dead_registry_image(world, HTTPD_V1, f"au-{uid}-dead")
    units = [Unit(f"au-{uid}-reg", remote, "registry"), Unit(f"au-{uid}-loc", local, "local"),
             Unit(f"au-{uid}-dead", unreachable, "registry")]
    reg, loc, dead_unit = units
    roles = {u.name: role for u, role in zip(units, ("REG", "LOC", "DEAD"), strict=True)}
    steps: list[dict[str, str]] = []

    def step(*args: str) -> dict[str, str]:
        status, rows, stderr = tool(world, *args)
        got = {roles[k]: v for k, v in results(rows, units).items()}
        assert got.get("DEAD") == dead, stderr
        assert (status != 0) == (dead == "failed"), "a failed container is an error"
        steps.append(got)
        return got

    start_units(world, units)
    try:
        dead_before = container_image(world, dead_unit.name)
        v1_page = serving(world, reg.name)
        assert "v1" in v1_page

        assert step() == {"REG": "false", "LOC": "false", "DEAD": dead}

        world.podman("push", "--quiet", HTTPD_V2, remote)
        world.podman("tag", HTTPD_V2, local)
        assert step("--dry-run") == {"REG": "pending", "LOC": "pending", "DEAD": dead}
        assert "v1" in serving(world, reg.name), "a dry run changes nothing"

        assert step() == {"REG": "true", "LOC": "true", "DEAD": dead}
        assert "v2" in serving(world, reg.name)
        assert "v2" in serving(world, loc.name)
        assert container_image(world, loc.name) == image_id(world, HTTPD_V2)
        v2_remote = image_id(world, remote)

        broken = unexecutable_image(world, HTTPD_V2, f"localhost/podbridge/au-{uid}:broken")
        world.podman("push", "--quiet", broken, remote)
        world.podman("tag", broken, local)
        assert step() == {"REG": "rolled back", "LOC": "rolled back", "DEAD": dead}
        assert "v2" in serving(world, reg.name), "the old image serves again"
        assert "v2" in serving(world, loc.name)
        assert image_id(world, remote) == v2_remote, "the name points at the old image"
        assert image_id(world, local) == image_id(world, HTTPD_V2)

        assert container_image(world, dead_unit.name) == dead_before, "DEAD never changed"
    finally:
        remove_units(world, units)
    return steps


def test_podbridge_and_podman_give_the_same_tables(fresh_world: World) -> None:
    dead = "failed" if podman_major(fresh_world) >= 5 else "false"
    mine = scenario(fresh_world, ours, "p", dead=dead)
    theirs = scenario(fresh_world, podmans, "m", dead=dead)
    assert mine == theirs


def test_registry_errors_have_clear_reasons(fresh_world: World) -> None:
    world = fresh_world
    uid = uuid.uuid4().hex[:6]
    dead = dead_registry_image(world, HTTPD_V1, f"au-{uid}-dead")
    missing = f"{world.registry}/podbridge/au-{uid}-gone:latest"
    world.podman("push", "--quiet", HTTPD_V1, missing)
    units = [Unit(f"au-{uid}-dead", dead, "registry"),
             Unit(f"au-{uid}-gone", missing, "registry")]
    start_units(world, units)
    try:
        # The tag disappears from the registry: a 404 for that container alone.
        digest = world.run(["skopeo", "inspect", "--tls-verify=false", "--format",
                            "{{.Digest}}", f"docker://{missing}"]).stdout.strip()
        world.run(["skopeo", "delete", "--tls-verify=false",
                   f"docker://{missing.rsplit(':', 1)[0]}@{digest}"])
        status, rows, stderr = ours(world, "--compat", "5")
        assert status == 125
        assert results(rows, units) == {units[0].name: "failed", units[1].name: "failed"}
        # Podman 5's words for an unreachable registry, as containers/image says it.
        assert (f"checking image updates for container {container_id(world, units[0].name)}"
                f": pinging container registry {dead.split('/')[0]}: Get \"https://"
                f"{dead.split('/')[0]}/v2/\": dial tcp {dead.split('/')[0]}: connect: "
                "connection refused") in stderr
        # A tag gone: containers/image's words too (the check goes through skopeo).
        assert (f"checking image updates for container {container_id(world, units[1].name)}"
                f": reading manifest latest in {missing.rsplit(':', 1)[0]}: manifest "
                "unknown") in stderr
    finally:
        remove_units(world, units)


def container_id(world: World, name: str) -> str:
    return world.podman("inspect", "--format", "{{.Id}}", name).stdout.strip()
