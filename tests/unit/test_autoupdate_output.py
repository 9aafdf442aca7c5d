"""The report prints as podman auto-update prints it."""

from __future__ import annotations

import json

from plugins.auto_update.output import Row, as_json, parse_table, table, tabulate

ROW = Row("sleep.service", "f8e4759798d4aaaa" + "0" * 48, "systemd-sleep",
          "registry.fedoraproject.org/fedora:latest", "registry", "true")


def test_table_is_podmans_example() -> None:
    # Podman's documented example (reference section C), with the empty first cell that
    # the real podman 4.3.1 prints (its template starts with a tab).
    assert table([ROW]) == " " * 12 + (
        "UNIT           CONTAINER                     IMAGE                                "
        "     POLICY      UPDATED\n") + " " * 12 + (
        "sleep.service  f8e4759798d4 (systemd-sleep)  registry.fedoraproject.org/fedora:"
        "latest  registry    true\n")


def test_table_is_what_podman_4_3_1_printed() -> None:
    # Captured from `podman auto-update --dry-run` in the test world.
    row = Row("au-a.service", "695907a7ee2e" + "0" * 52, "au-a",
              "127.0.0.1:50119/podbridge/httpd:latest", "registry", "false")
    assert table([row]) == (
        "            UNIT          CONTAINER            IMAGE                              "
        "     POLICY      UPDATED\n"
        "            au-a.service  695907a7ee2e (au-a)  127.0.0.1:50119/podbridge/httpd:lat"
        "est  registry    false\n")


def test_container_column() -> None:
    assert ROW.container == "f8e4759798d4 (systemd-sleep)"


def test_min_width_and_last_column_unpadded() -> None:
    assert tabulate([["A", "B"], ["x", "yy"]]) == "A           B\nx           yy\n"


def test_json_keys_and_order() -> None:
    data = json.loads(as_json([ROW]))
    assert list(data[0]) == ["Unit", "Container", "ContainerName", "ContainerID", "Image",
                             "Policy", "Updated"]
    assert data[0]["Container"] == "f8e4759798d4 (systemd-sleep)"
    assert as_json([ROW]).startswith("[\n    {\n        \"Unit\"")


def test_parse_table_round_trip() -> None:
    rolled = Row("a.service", "1" * 64, "a", "img:1", "local", "rolled back")
    rows = parse_table(table([ROW, rolled]))
    assert rows[1] == {"UNIT": "a.service", "CONTAINER": "111111111111 (a)",
                       "IMAGE": "img:1", "POLICY": "local", "UPDATED": "rolled back"}
