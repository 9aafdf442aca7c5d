"""Rules and conditions as pure logic: parsing, validation errors, matching, templates."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from bridge.methods import format_validation_error
from plugins.hooks.conditions import Condition, TemplateError, json_equal, lookup, render
from plugins.hooks.plugin import HooksConfig
from plugins.hooks.rules import Rule

EVENT: dict[str, Any] = {
    "seq": 7, "id": "x-7", "time": "2026-01-01T00:00:00.000000Z", "source": "podman",
    "type": "container.died", "subject": "web-1",
    "data": {"exit_code": 3, "state": "exited", "health": None,
             "labels": {"app": "shop", "io.containers.autoupdate": "registry"},
             "ports": [{"host": 8080}]},
}


class Params(BaseModel):
    rule: Rule


RULE: dict[str, Any] = {"name": "r", "on": {"topic": "container.died"},
                        "actions": [{"type": "command", "argv": ["true"]}]}


def rule(where: list[Any] | None = None, **on: Any) -> Rule:
    return Rule.model_validate({**RULE, "on": {"topic": "container.died", "where": where or [],
                                               **on}})


def refused(**doc: Any) -> str:
    """The error of RULE with ``doc``'s keys instead of its own, as a client reads it."""
    with pytest.raises(ValidationError) as info:
        Params.model_validate({"rule": {**RULE, **doc}})
    return format_validation_error(info.value)


@pytest.mark.parametrize(("cond", "expected"), [
    ("data.exit_code != 0", True),
    ("data.exit_code == 3", True),
    ("data.exit_code == 3.0", True),
    ("data.exit_code > 2", True),
    ("data.exit_code >= 4", False),
    ("data.exit_code < 3", False),
    ("data.exit_code <= 3", True),
    ("subject ~ web-*", True),
    ("subject ~ db-*", False),
    ("data.state == exited", True),
    ('data.state == "exited"', True),
    ("data.health == null", True),
    ("data.labels.app != shop", False),
    ("data.ports.0.host == 8080", True),
    ("data.ports.5.host == 8080", False),  # missing: false, whatever the operator
    ("data.nothing != 1", False),
    ("data.state > 1", False),  # a string is not a number
    ("source == podman", True),
    ("seq >= 7", True),
])
def test_condition_shorthand(cond: str, expected: bool) -> None:
    assert Condition.model_validate(cond).check(EVENT) is expected, cond


def test_structured_condition_and_aliases() -> None:
    c = Condition.model_validate({"path": ["data", "labels", "io.containers.autoupdate"],
                                  "op": "eq", "value": "registry"})
    assert c.op == "==" and c.check(EVENT)
    assert Condition.model_validate({"path": "data.exit_code", "op": "gt",
                                     "value": 0}).check(EVENT)


def test_json_equality_keeps_bools_apart() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal("1", 1)
    assert json_equal(None, None)


@pytest.mark.parametrize(("where", "message"), [
    (["data.exit_code >> 0"], "unknown operator '>>'"),
    ([{"path": "data.exit_code", "op": "=~", "value": 1}], "unknown operator '=~'"),
    (["data.exit_code > abc"], "'>' compares numbers"),
    (["subject ~ 5"], "'~' matches a glob"),
    (["exit_code != 0"], "must start with one of seq, id, time, source, type, subject, data"),
    (["data..x == 1"], "empty segment"),
    (["subject.x == 1"], "only 'data' has fields below it"),
    (["data.exit_code !="], "has no value after '!='"),
    (["no operator here"], "cannot read condition"),
])
def test_bad_conditions_are_refused_with_a_clear_error(where: list[Any], message: str
                                                      ) -> None:
    text = refused(on={"topic": "container.*", "where": where})
    assert text.startswith("rule.on.where.0: "), text
    assert message in text, text


def test_other_bad_rules() -> None:
    assert "bad topic glob" in refused(on={"topic": "container died"})
    assert "rule.actions" in refused(actions=[])
    assert "does not match any of the expected tags" in refused(actions=[{"type": "shell"}])
    assert "not an http" in refused(actions=[{"type": "webhook", "url": "ftp://x"}])
    assert "secret or secret_env" in refused(actions=[
        {"type": "webhook", "url": "http://x", "secret": "a", "secret_env": "B"}])
    assert "rules do not edit rules" in refused(actions=[{"type": "call",
                                                          "method": "hooks.add"}])
    assert "publishes under 'hook.'" in refused(actions=[{"type": "publish",
                                                          "topic": "container.died"}])
    assert "the plugin's own" in refused(actions=[{"type": "publish", "topic": "hook.fired"}])
    assert "template" in refused(actions=[{"type": "command", "argv": ["echo", "{{nope}}"]}])
    assert "rule.name" in refused(name="has space")
    assert "rule.debounce" in refused(debounce=-1)


def test_rule_matching_and_explain() -> None:
    r = rule(["data.exit_code != 0"], subject="web-*")
    assert r.matches(EVENT)
    assert not r.matches({**EVENT, "subject": "db"})
    assert not r.matches({**EVENT, "type": "container.start"})
    assert not r.matches({**EVENT, "data": {**EVENT["data"], "exit_code": 0}})
    explained = r.explain({**EVENT, "data": {"exit_code": 0}})
    assert explained == {"matched": False, "topic": True, "subject": True, "conditions": [
        {"condition": "data.exit_code != 0", "found": True, "actual": 0, "result": False}]}
    many = Rule.model_validate({**RULE, "name": "m", "on": {"topic": ["unit.*", "container.*"]}})
    assert many.topic_matches("unit.state") and many.topic_matches("container.died")
    assert not many.topic_matches("image.pull")


def test_secrets_are_hidden_in_public_view() -> None:
    r = Rule.model_validate({"name": "w", "on": {"topic": "*"}, "actions": [
        {"type": "webhook", "url": "http://127.0.0.1/x", "secret": "s3cret"}]})
    assert r.public()["actions"][0]["secret"] == "********"
    assert r.actions[0].secret == "s3cret"  # type: ignore[union-attr]


def test_templates() -> None:
    assert render(["x", "{{subject}}", "code={{data.exit_code}}"], EVENT,
                  keep_types=False) == ["x", "web-1", "code=3"]
    assert render({"name": "{{subject}}", "code": "{{data.exit_code}}",
                   "labels": "{{data.labels}}"}, EVENT) == {
        "name": "web-1", "code": 3, "labels": EVENT["data"]["labels"]}
    with pytest.raises(TemplateError, match=r"no 'data\.nope'"):
        render("{{data.nope}}", EVENT)
    assert lookup(EVENT, "data.labels.app") == (True, "shop")
    assert lookup(EVENT, "data.gone") == (False, None)


def test_the_toml_examples_of_the_docs_are_valid_config() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "automation.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) == 2
    for block in blocks:
        section = tomllib.loads(block)["plugins"]["hooks"]
        config = HooksConfig.model_validate(section)
        assert config.max_chain >= 1
    rules = HooksConfig.model_validate(tomllib.loads(blocks[0])["plugins"]["hooks"]).rules
    assert [r.name for r in rules] == ["crash-alert", "shop-unit-failed", "heal"]
    died = {**EVENT, "data": {**EVENT["data"], "exit_code": 1}}
    assert rules[0].matches(died)
    assert not rules[0].matches({**died, "data": {"exit_code": 0}})
