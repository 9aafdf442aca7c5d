"""Demo containers for `podbridge sandbox up --demo` (and so `make run`).

- ``demo-web``: httpd v1, published on 127.0.0.1 at a free port;
- ``demo-always``: the sleep image with ``--restart=always``;
- ``demo-auto.service``: a Type=notify unit running ``podman run --sdnotify=conmon`` of an
  image in the world's registry, labelled ``io.containers.autoupdate=registry``, enabled
  (so it comes back after a reboot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bridge.sandbox.images import HTTPD_V1, SLEEP
from bridge.sandbox.registry import free_port
from bridge.sandbox.world import World

logger = logging.getLogger(__name__)

NOTIFY_UNIT = """\
# podbridge test world demo: what `podman generate systemd --new` would write.
[Unit]
Description={description}
Wants=network-online.target
After=network-online.target
RequiresMountsFor=%t/containers
{unit_extra}
[Service]
Environment=PODMAN_SYSTEMD_UNIT=%n
Restart=on-failure
TimeoutStopSec=70
ExecStartPre=/bin/rm -f %t/%n.ctr-id
ExecStart=/usr/bin/podman run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm \\
    --sdnotify=conmon --replace -d --name {name} {args} {image}
ExecStop=/usr/bin/podman stop --ignore -t 10 --cidfile=%t/%n.ctr-id
ExecStopPost=/usr/bin/podman rm -f --ignore -t 10 --cidfile=%t/%n.ctr-id
Type=notify
NotifyAccess=all

[Install]
WantedBy=default.target
"""


def notify_unit(name: str, image: str, args: str = "", description: str = "",
                unit_extra: str = "") -> str:
    """A Type=notify unit for a container named ``name`` (``--sdnotify=conmon``);
    ``unit_extra``: more lines for its [Unit] section (dependencies)."""
    extra = unit_extra.strip()
    return NOTIFY_UNIT.format(name=name, image=image, args=args,
                              description=description or f"podbridge container {name}",
                              unit_extra=f"{extra}\n" if extra else "")


def install_unit(world: World, unit: str, text: str, enable: bool = True) -> None:
    """Write ``unit`` into the world's unit folder, enable it, and reload systemd.

    Enabling is a symlink in default.target.wants, as `systemctl enable` would make it.
    """
    (world.unit_dir / unit).write_text(text)
    if enable:
        world.enable(unit, world.unit_dir / unit)
    world.systemctl("daemon-reload")


@dataclass(frozen=True)
class Demo:
    web_url: str
    auto_image: str


def create_demo(world: World) -> Demo:
    port = free_port()
    world.podman("run", "-d", "--name", "demo-web", "-p", f"127.0.0.1:{port}:80", HTTPD_V1)
    world.podman("run", "-d", "--name", "demo-always", "--restart=always", SLEEP)
    auto_image = f"{world.registry}/podbridge/httpd:latest"
    world.podman("push", "--quiet", HTTPD_V1, auto_image)
    install_unit(world, "demo-auto.service", notify_unit(
        "demo-auto", auto_image, "--label io.containers.autoupdate=registry",
        "podbridge demo: httpd from the world's registry, auto-updated"))
    world.systemctl("start", "demo-auto.service")
    demo = Demo(f"http://127.0.0.1:{port}/", auto_image)
    logger.info("demo containers: demo-web at %s, demo-always, demo-auto.service (%s)",
                demo.web_url, auto_image)
    return demo
