"""The pure parts of images.search: which registries a term searches, Podman's
multi-error text made one line, a search row."""

from __future__ import annotations

from bridge.image_search import _clean, result_row, searched_registries


def test_the_registry_is_what_comes_before_the_first_slash() -> None:
    assert searched_registries("quay.io/podman/hello", ["docker.io"]) == ["quay.io"]
    assert searched_registries("127.0.0.1:5000/", []) == ["127.0.0.1:5000"]
    # Podman reads "library/nginx" as the registry "library" too (and fails to reach it).
    assert searched_registries("library/nginx", ["docker.io"]) == ["library"]
    assert searched_registries("nginx", ["docker.io", "quay.io"]) == ["docker.io", "quay.io"]
    assert searched_registries("nginx", []) == []


def test_podman_multi_errors_become_one_line() -> None:
    one = ("search 'r/x': 1 error occurred:\n\t* couldn't search registry \"r\": pinging "
           "container registry r: connection refused\n\n")
    assert _clean(one) == ("search 'r/x': couldn't search registry \"r\": pinging container "
                           "registry r: connection refused")
    two = "s: 2 errors occurred:\n\t* a: boom\n\t* b: bang\n\n"
    assert _clean(two) == "s: a: boom; b: bang"
    assert _clean("search 'a*': no such thing") == "search 'a*': no such thing"


def test_result_row_reads_podmans_report() -> None:
    row = result_row({"Index": "docker.io", "Name": "docker.io/library/nginx",
                      "Description": "Official build of Nginx.", "Stars": 19397,
                      "Official": "[OK]", "Automated": "", "Tag": ""})
    assert row == {"index": "docker.io", "name": "docker.io/library/nginx",
                   "description": "Official build of Nginx.", "stars": 19397,
                   "official": True, "automated": False, "tag": None}
