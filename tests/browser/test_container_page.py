"""A container's page (issue 19, "Show"): create a container from the dialog and see it
run; follow its logs as it prints; type a command in its console and read the answer; see
its CPU chart move under load. Each view is checked with axe-core and photographed at
1280x800 and 390 px."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from bridge.sandbox.registry import free_port
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, both_sizes, checked_view, login_by_url, submit_create

TICKER = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.5; done"


@pytest.fixture
def ticker(world: World, name: str) -> str:
    """A running container that prints a numbered line every half second."""
    world.podman("run", "-d", "--name", name, SLEEP, "sh", "-c", TICKER)
    return name


def open_tab(page: Page, bridge: BridgeProcess, name: str, tab: str) -> None:
    login_by_url(page, bridge)
    page.get_by_test_id(f"container-link-{name}").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(name)
    page.get_by_role("tab", name=tab.capitalize()).click()
    expect(page).to_have_url(re.compile(f"#/containers/{name}/{tab}$"))


def test_create_a_container_from_the_dialog_and_see_it_run(
        page: Page, bridge: BridgeProcess, world: World, name: str) -> None:
    login_by_url(page, bridge)
    page.get_by_test_id("container-create").click()
    dialog = page.get_by_test_id("create-dialog")
    expect(dialog).to_be_visible()
    # Bad input is refused in the form, and nothing is created.
    dialog.get_by_test_id("create-submit").click()
    expect(dialog.get_by_text("Choose an image")).to_be_visible()
    dialog.get_by_test_id("create-image").fill(SLEEP)
    dialog.get_by_test_id("create-name").fill(name)
    dialog.get_by_test_id("create-command").fill(f"sh -c '{TICKER}'")
    dialog.get_by_test_id("env-add").click()
    dialog.get_by_test_id("env-name").fill("GREETING")
    dialog.get_by_test_id("env-value").fill("hello from the dialog")
    dialog.get_by_test_id("port-add").click()
    dialog.get_by_test_id("port-host").fill(str(free_port()))
    dialog.get_by_test_id("port-container").fill("8080")
    # A second port without a host port: Podman picks a free one.
    dialog.get_by_test_id("port-add").click()
    dialog.get_by_test_id("port-container").nth(1).fill("9090")
    dialog.get_by_test_id("create-restart").select_option("on-failure")
    dialog.get_by_test_id("create-health").fill("true")
    checked_view(page, "create-dialog")

    # The dialog goes to the new container's page; the bus brings its state.
    submit_create(page, dialog, 30_000)
    expect(page.get_by_test_id("detail-name")).to_have_text(name)
    expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=15_000)
    fmt = "{{.State.Status}} {{.HostConfig.RestartPolicy.Name}} {{json .Config.Env}}"
    inspect = world.podman("inspect", "--format", fmt, name).stdout
    assert inspect.startswith("running on-failure"), inspect
    assert "GREETING=hello from the dialog" in inspect, inspect
    published = world.podman("port", name).stdout
    assert "8080/tcp" in published and "9090/tcp" in published, published
    health = world.podman("inspect", "--format", "{{json .Config.Healthcheck}}", name).stdout
    assert '"true"' in health or "true" in health, health
    page.get_by_test_id("back-to-containers").click()
    expect(page.get_by_test_id(f"container-row-{name}")).to_have_attribute("data-state", "running")


def test_follow_its_logs_as_it_prints(page: Page, bridge: BridgeProcess, ticker: str) -> None:
    open_tab(page, bridge, ticker, "logs")
    lines = page.get_by_test_id("log-line")
    expect(lines.first).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("logs-status")).to_have_attribute("data-live", "true")
    # New lines arrive while we watch: a number printed after the page opened the stream.
    first = int(re.findall(r"tick (\d+)", lines.last.inner_text())[-1])
    later = f"tick {first + 4}"
    started = time.monotonic()
    expect(page.get_by_test_id("logs-view")).to_contain_text(later, timeout=15_000)
    took = time.monotonic() - started
    print(f"\n'{later}' showed {took:.2f}s after 'tick {first}' was the last line")

    # Search narrows the lines (and highlights); clearing it shows them all again.
    page.get_by_test_id("logs-search").fill(f"tick {first + 1}")
    expect(lines).to_have_count(1)
    expect(lines.first.locator("mark")).to_have_text(f"tick {first + 1}")
    page.get_by_test_id("logs-search").fill("/^tick [0-9]*[02468]$/")
    for text in lines.all_inner_texts():
        assert int(text.split()[-1]) % 2 == 0, text
    page.get_by_test_id("logs-search").fill("")
    checked_view(page, "container-logs")

    # Follow off: the stream closes and the view holds still.
    page.get_by_test_id("logs-follow").locator("..").click()
    expect(page.get_by_test_id("logs-status")).to_have_attribute("data-live", "false")
    count = lines.count()
    page.wait_for_timeout(1500)
    assert lines.count() == count, "no new lines while not following"


def test_type_a_command_in_its_console_and_read_the_answer(
        page: Page, bridge: BridgeProcess, ticker: str) -> None:
    open_tab(page, bridge, ticker, "console")
    expect(page.get_by_test_id("console-status")).to_have_attribute("data-phase", "open",
                                                                     timeout=15_000)
    terminal = page.get_by_test_id("console-terminal")
    terminal.click()
    # The shell computes the answer: what is typed ($((6*7))) is not what comes back (42).
    page.keyboard.type("echo pb-$((6*7))-$(hostname | wc -c)-ok")
    page.keyboard.press("Enter")
    rows = terminal.locator(".xterm-rows")
    expect(rows).to_contain_text(re.compile(r"pb-42-\d+-ok"), timeout=15_000)
    # The terminal's size reached the process (stream_resize): stty says what it was told.
    page.keyboard.type("stty size")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text(re.compile(r"stty size\s*\d+ \d+"))
    found = re.search(r"stty size\s*(\d+) (\d+)", rows.inner_text())
    assert found, rows.inner_text()
    size = f"{found[1]} {found[2]}"
    # The page fits the terminal to its box (about 107 columns at 1280 px), not exec's 80.
    assert int(found[2]) != 80 and int(found[1]) > 0, size
    print(f"\nstty size in the console: {size}")
    checked_view(page, "container-console")
    page.keyboard.type("exit")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("exited with 0", timeout=15_000)


def test_see_its_cpu_chart_move_under_load(
        page: Page, bridge: BridgeProcess, world: World, ticker: str) -> None:
    open_tab(page, bridge, ticker, "metrics")
    cpu = page.get_by_test_id("chart-cpu")
    expect(cpu).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("chart-mem")).to_be_visible()
    idle = float(cpu.get_attribute("data-last") or "0")
    axe_clean(page, "container-metrics")
    world.podman("exec", "-d", ticker, "sh", "-c", "while :; do :; done")
    started = time.monotonic()
    deadline = started + 30
    busy = idle
    # A loaded CI machine gives the loop what it can spare: "moves" is well above idle.
    while not (busy >= 10 and busy > idle + 5):
        assert time.monotonic() < deadline, f"the CPU chart stayed at {busy}% under load"
        page.wait_for_timeout(500)
        busy = float(cpu.get_attribute("data-last") or "0")
    samples = int(cpu.get_attribute("data-samples") or "0")
    took = time.monotonic() - started
    print(f"\nCPU: {idle:.1f}% idle, {busy:.1f}% under load after {took:.1f}s "
          f"({samples} samples on the chart)")
    assert busy > idle
    expect(page.get_by_test_id("metrics-cpu-now")).to_have_text(re.compile(r"\d+ %"))
    both_sizes(page, "container-metrics")


def test_create_a_container_run_by_its_unit_with_auto_update(
        page: Page, bridge: BridgeProcess, world: World, name: str) -> None:
    """The dialog's "run it from a systemd unit" and auto-update: the container is created,
    its unit generated (--new), installed, enabled and started; the running container is
    the unit's, labelled for Podman auto-update, and Podman's auto-update lists its unit."""
    unit = f"container-{name}.service"
    try:
        login_by_url(page, bridge)
        page.get_by_test_id("container-create").click()
        dialog = page.get_by_test_id("create-dialog")
        dialog.get_by_test_id("create-image").fill(SLEEP)
        # Auto-update needs a unit, and a unit needs a name: the form says so.
        dialog.get_by_test_id("create-unit").check()
        dialog.get_by_test_id("create-autoupdate").select_option("local")
        dialog.get_by_test_id("create-submit").click()
        expect(dialog.get_by_text("A unit needs a container name")).to_be_visible()
        dialog.get_by_test_id("create-name").fill(name)
        submit_create(page, dialog)
        expect(page.get_by_test_id("toast-success")).to_contain_text(unit)
        expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=30_000)
        assert (world.unit_dir / unit).exists(), f"{unit} was not installed"
        active = world.systemctl("is-active", unit, check=False).stdout.strip()
        assert active == "active", active
        labels = world.podman("inspect", "--format", "{{json .Config.Labels}}", name).stdout
        assert '"io.containers.autoupdate":"local"' in labels, labels
        # containers.create recorded its create command, so the unit creates the container
        # afresh at each start (--new): `podman run ... --replace`, which Podman's
        # auto-update recreates; the running container is the unit's.
        assert f'"PODMAN_SYSTEMD_UNIT":"{unit}"' in labels, labels
        expect(page.get_by_test_id("toasts")).to_contain_text("created afresh at each start")
        text = (world.unit_dir / unit).read_text()
        exec_start = text.split("ExecStart=", 1)[1].split("\nExecStop", 1)[0]
        assert re.search(r"\brun\b", exec_start) and "--replace" in exec_start, text
        fmt = "{{.Unit}} {{.Policy}} {{.Updated}}"
        dry = world.podman("auto-update", "--dry-run", "--format", fmt).stdout
        assert f"{unit} local false" in dry, dry
    finally:
        world.systemctl("disable", "--now", unit, check=False)
        (world.unit_dir / unit).unlink(missing_ok=True)
        for wants in world.unit_dir.glob(f"*.wants/{unit}"):
            wants.unlink(missing_ok=True)
        world.systemctl("daemon-reload")
        world.systemctl("reset-failed", check=False)
