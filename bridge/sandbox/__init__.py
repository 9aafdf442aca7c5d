"""The podbridge test world: a real systemd, D-Bus system bus, Podman and registry.

See :mod:`bridge.sandbox.world`. Tests skip with :func:`unavailable_reason`'s text when
the machine cannot host a world.
"""

from __future__ import annotations

from bridge.sandbox.availability import unavailable_reason
from bridge.sandbox.world import World, WorldError

__all__ = ["World", "WorldError", "unavailable_reason"]
