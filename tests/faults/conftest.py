"""The fault suite runs against the session's test world, like the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import _needs_world, world  # noqa: F401  (fixtures)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.world)
