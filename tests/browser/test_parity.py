"""What Cockpit's Podman page has in its containers list and menus, in podbridge's panel:
CPU and memory in each row (live, from one containers.stats_all stream), Force stop (no
grace period: SIGKILL at once) and Rename (Podman's refusal shown in the dialog)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import checked_view, login_by_url, wait_until
from tests.helpers import unique


def percent(text: str) -> float:
    found = re.fullmatch(r"([\d.]+) %", text.strip())
    assert found, f"not a CPU figure: {text!r}"
    return float(found[1])


def test_each_row_shows_its_cpu_and_memory(page: Page, bridge: BridgeProcess, world: World,
                                           names: list[str]) -> None:
    busy, quiet, idle = unique("pbu-busy"), unique("pbu-quiet"), unique("pbu-idle")
    names += [busy, quiet, idle]
    world.podman("run", "-d", "--name", busy, SLEEP, "sh", "-c", "while :; do :; done")
    world.podman("run", "-d", "--name", quiet, SLEEP, "sleep", "1000")
    world.podman("create", "--name", idle, SLEEP)
    login_by_url(page, bridge)
    cpu = page.get_by_test_id(f"container-cpu-{busy}")
    # The first figures come with the stream's second sample (3 s apart).
    expect(cpu).to_have_attribute("data-measured", "true", timeout=20_000)
    expect(page.get_by_test_id(f"container-cpu-{quiet}")).to_have_attribute(
        "data-measured", "true")
    # A busy loop on a loaded machine gets what it can spare: clearly above the quiet one.
    wait_until(lambda: percent(cpu.inner_text()) >= 10, "the busy row's CPU at 10 % or more",
               timeout=30)
    figures = {n: page.get_by_test_id(f"container-cpu-{n}").inner_text() for n in (busy, quiet)}
    mem = page.get_by_test_id(f"container-mem-{busy}").inner_text()
    print(f"\nCPU {figures}, memory of {busy}: {mem}")
    assert percent(figures[quiet]) < percent(figures[busy]), figures
    assert re.fullmatch(r"[\d.]+ (B|KiB|MiB|GiB)", mem), mem
    limit = page.get_by_test_id(f"container-mem-{busy}").get_attribute("title") or ""
    assert re.fullmatch(r"of [\d.]+ (MiB|GiB|TiB)", limit), limit
    # The two columns more still fit a 1280 px window: nothing to scroll sideways.
    wide = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert wide[0] <= wide[1], f"the page is {wide[0]} px wide in a {wide[1]} px window"
    # A container that does not run has no figures.
    expect(page.get_by_test_id(f"container-cpu-{idle}")).to_have_text("—")
    expect(page.get_by_test_id(f"container-mem-{idle}")).to_have_text("—")
    checked_view(page, "containers-cpu-memory")


def test_force_stop_kills_at_once(page: Page, bridge: BridgeProcess, world: World,
                                  names: list[str]) -> None:
    """`sleep` as a container's PID 1 ignores SIGTERM: a plain stop waits out its grace
    period; Force stop sends SIGKILL at once (exit code 137, as `podman stop -t 0`)."""
    name = unique("pbu-stubborn")
    names.append(name)
    world.podman("run", "-d", "--name", name, SLEEP, "sleep", "1000")
    login_by_url(page, bridge)
    row = page.get_by_test_id(f"container-row-{name}")
    expect(row).to_have_attribute("data-state", "running")
    page.get_by_test_id(f"container-menu-{name}").click()
    expect(page.get_by_test_id(f"container-kill-{name}")).to_be_visible()
    checked_view(page, "container-menu")
    page.get_by_test_id(f"container-kill-{name}").click()
    expect(row).to_have_attribute("data-state", "exited", timeout=15_000)
    code = world.podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    assert code == "137", f"exit code {code}: not killed"
    # Stopped: Force stop is off, Rename still on.
    page.get_by_test_id(f"container-menu-{name}").click()
    expect(page.get_by_test_id(f"container-kill-{name}").locator("button")).to_be_disabled()
    expect(page.get_by_test_id(f"container-rename-{name}").locator("button")).to_be_enabled()
    page.keyboard.press("Escape")


def test_rename_from_the_container_page(page: Page, bridge: BridgeProcess, world: World,
                                        names: list[str]) -> None:
    name, other, new = unique("pbu-old"), unique("pbu-taken"), unique("pbu-new")
    names += [name, other, new]
    world.podman("run", "-d", "--name", name, SLEEP, "sleep", "1000")
    world.podman("create", "--name", other, SLEEP)
    login_by_url(page, bridge)
    page.get_by_test_id(f"container-link-{name}").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(name)
    page.get_by_test_id(f"container-menu-{name}").click()
    page.get_by_test_id(f"container-rename-{name}").click()
    dialog = page.get_by_test_id("rename-dialog")
    field = dialog.get_by_test_id("rename-name")
    expect(field).to_have_value(name)
    # Refused in the form: not a name Podman takes.
    field.fill("bad name")
    dialog.get_by_test_id("rename-submit").click()
    expect(dialog.get_by_text("Letters, digits")).to_be_visible()
    # Refused by Podman: the name is taken. The dialog says why and keeps what was typed.
    field.fill(other)
    dialog.get_by_test_id("rename-submit").click()
    problem = dialog.get_by_test_id("rename-error")
    expect(problem).to_be_visible()
    print(f"\nrenaming to a taken name: {problem.inner_text()}")
    expect(problem).to_contain_text(re.compile("already|in use", re.I))
    expect(field).to_have_value(other)
    checked_view(page, "rename-dialog")
    field.fill(new)
    dialog.get_by_test_id("rename-submit").click()
    expect(dialog).to_have_count(0)
    # The page follows the container to its new name; Podman knows it by that name.
    expect(page).to_have_url(re.compile(f"#/containers/{new}$"))
    expect(page.get_by_test_id("detail-name")).to_have_text(new, timeout=15_000)
    expect(page.get_by_test_id("detail-state")).to_have_text("running")
    assert world.podman("inspect", "--format", "{{.Name}}", new).stdout.strip() == new
