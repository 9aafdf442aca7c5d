"""Which containers a run looks at, and how their units are grouped and ordered."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.auto_update.tasks import (
    PolicyError,
    by_unit,
    group_units,
    lookup_policy,
    select_tasks,
)


def ctr(cid: str, policy: str | None = "registry", state: str = "running",
        unit: str | None = "web.service", pod: str = "", image: str = "reg:5000/a:latest",
        ) -> dict[str, Any]:
    labels = {}
    if policy is not None:
        labels["io.containers.autoupdate"] = policy
    if unit is not None:
        labels["PODMAN_SYSTEMD_UNIT"] = unit
    return {"Id": cid * 64, "Names": [f"n{cid}"], "State": state, "Labels": labels,
            "Image": image, "ImageID": "i" * 64, "Pod": pod}


def test_policies() -> None:
    assert lookup_policy("image") == "registry"
    assert lookup_policy("") == "disabled"
    with pytest.raises(PolicyError) as info:
        lookup_policy("sometimes")
    # Podman's text, word for word (as `podman auto-update` 4.3.1 printed it).
    assert str(info.value) == ('invalid auto-update policy "sometimes": valid policies are '
                               '["disabled" "image" "local" "registry"]')


def test_selection_follows_podman() -> None:
    tasks, errors = select_tasks([
        ctr("a"), ctr("b", policy="local", unit="b.service"),
        ctr("c", state="exited"), ctr("d", policy=None), ctr("e", policy="disabled"),
        ctr("f", policy="bogus"), ctr("g", unit=None), ctr("h", image=""),
    ], {})
    assert [(t.name, t.policy, t.unit) for t in tasks] == [
        ("na", "registry", "web.service"), ("nb", "local", "b.service")]
    assert len(errors) == 3
    assert errors[0].startswith('invalid auto-update policy "bogus"')
    assert "no PODMAN_SYSTEMD_UNIT label found" in errors[1]
    assert "raw-image name is empty" in errors[2]


def test_pod_members_take_the_infra_unit() -> None:
    tasks, errors = select_tasks([ctr("a", unit=None, pod="p1"),
                                  ctr("b", unit="own.service", pod="p1")],
                                 {"p1": "pod-p1.service"})
    assert not errors
    assert {t.unit for t in tasks} == {"pod-p1.service"}
    assert list(by_unit(tasks)) == ["pod-p1.service"]


@pytest.mark.parametrize(("units", "relations", "pods", "groups"), [
    pytest.param(["c.service", "a.service", "b.service"], {}, None,
                 [["a.service"], ["b.service"], ["c.service"]],
                 id="independent_units_are_groups_of_one"),
    pytest.param(["proxy.service", "app.service", "db.service", "solo.service"], {
        "app.service": {"Requires": ["db.service"], "After": ["db.service"]},
        "proxy.service": {"BindsTo": ["app.service"], "After": ["app.service"]},
        "db.service": {"Before": ["app.service"], "After": ["network-online.target"]},
    }, None, [["db.service", "app.service", "proxy.service"], ["solo.service"]],
        id="a_chain_runs_in_after_order"),
    pytest.param(["a.service", "b.service", "x.service"],
                 {"b.service": {"Before": ["a.service"]},
                  "x.service": {"After": ["not-updated.service"]}}, None,
                 [["b.service", "a.service"], ["x.service"]],
                 id="before_orders_too_and_unrelated_units_do_not_tie"),
    pytest.param(["a.service", "b.service", "c.service"], {},
                 {"a.service": "p", "c.service": "p"},
                 [["a.service", "c.service"], ["b.service"]], id="units_of_one_pod_are_one_group"),
    pytest.param(["a.service", "b.service"],
                 {"a.service": {"After": ["b.service"]}, "b.service": {"After": ["a.service"]}},
                 None, [["a.service", "b.service"]], id="a_cycle_still_runs_every_unit_once"),
])
def test_group_units(units: list[str], relations: dict[str, dict[str, list[str]]],
                     pods: dict[str, str] | None, groups: list[list[str]]) -> None:
    assert group_units(units, relations, pods) == groups  # pods=None is its default
