"""Names checked by a Python regex end where the text ends: `$` also matches before a final
newline, so `x.service\n` passed as a unit name, `X\n` as an environment variable name.
Each validator refuses the name with a newline and takes it without."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.credentials import Credentials
from bridge.errors import InvalidParams
from plugins.auto_update.reference import BadReference, parse_reference
from plugins.hooks.rules import CommandAction, On, PublishAction, WebhookAction
from plugins.unit_generator.install import check_unit_name
from plugins.unit_generator.quadlet_install import write_quadlets


def test_unit_and_quadlet_names(tmp_path: Path) -> None:
    check_unit_name("web.service")
    with pytest.raises(InvalidParams, match="not a valid systemd unit file name"):
        check_unit_name("web.service\n")
    with pytest.raises(InvalidParams, match="not a Quadlet unit file name"):
        write_quadlets(tmp_path, {"web.container\n": "[Container]\nImage=x\n"}, force=False)
    assert list(tmp_path.iterdir()) == []


def test_token_names(tmp_path: Path) -> None:
    creds = Credentials("first", tmp_path / "tokens.json")
    assert creds.add("ci-bot", "viewer")
    with pytest.raises(ValueError, match="use letters, digits"):
        creds.add("ci-bot\n", "viewer")


def test_hook_rule_names() -> None:
    command = {"type": "command", "argv": ["true"], "env": {"X": "1"}}
    assert CommandAction.model_validate(command).env == {"X": "1"}
    with pytest.raises(ValidationError, match="bad environment variable name"):
        CommandAction.model_validate({**command, "env": {"X\n": "1"}})
    with pytest.raises(ValidationError, match="bad environment variable name"):
        WebhookAction.model_validate({"type": "webhook", "url": "http://127.0.0.1/",
                                      "secret_env": "S\n"})
    with pytest.raises(ValidationError, match="the hooks plugin publishes under"):
        PublishAction.model_validate({"type": "publish", "topic": "hook.alert\n"})
    with pytest.raises(ValidationError, match="bad topic glob"):
        On.model_validate({"topic": "container.*\n"})


def test_image_tags() -> None:
    assert parse_reference("quay.io/org/app:v1").tag == "v1"
    with pytest.raises(BadReference):
        parse_reference("quay.io/org/app:v1\n")
