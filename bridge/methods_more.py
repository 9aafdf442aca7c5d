"""The methods of containers, images, pods, volumes, the system and journals that a panel
at the level of Cockpit's Podman page needs (issue 19), registered in one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.image_search import register_image_search_methods
from bridge.methods import MethodRegistry
from bridge.methods_container_ops import register_container_ops
from bridge.methods_containers import register_container_methods
from bridge.methods_images import register_image_methods
from bridge.methods_pods import register_pod_methods
from bridge.methods_system import register_system_methods
from bridge.methods_volumes import register_volume_methods

if TYPE_CHECKING:
    from bridge.app import Bridge


def register_issue19_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    register_container_methods(methods, bridge)
    register_container_ops(methods, bridge)
    register_image_methods(methods, bridge)
    register_pod_methods(methods, bridge)
    register_system_methods(methods, bridge)
    register_volume_methods(methods, bridge)
    register_image_search_methods(methods, bridge)
