"""The report of a run, printed exactly as ``podman auto-update`` prints it.

The table is Podman's tabwriter layout (minimum cell width 12, padding 2, the last column
unpadded) with the headers UNIT CONTAINER IMAGE POLICY UPDATED; ``Container`` is
``"<id[:12]> (<name>)"``. Podman 4.3's template starts each line with a tab, so every line
begins with an empty cell padded to 12 spaces; we print that too (seen from the real
``podman auto-update`` in the test world; its documentation's example omits it).
JSON is an array of objects with Podman's keys in Podman's order, indented by four spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.gotext import go_json

HEADERS = ("UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED")
MIN_WIDTH, PADDING = 12, 2


@dataclass
class Row:
    """One container's outcome; ``reason`` and the image facts are ours, not Podman's."""

    unit: str
    container_id: str
    container_name: str
    image: str
    policy: str
    updated: str = "failed"
    reason: str = ""
    old_image_id: str = ""
    new_image_id: str = ""
    old_digest: str = ""
    new_digest: str = ""

    @property
    def container(self) -> str:
        return f"{self.container_id[:12]} ({self.container_name})"

    def podman_json(self) -> dict[str, str]:
        return {"Unit": self.unit, "Container": self.container,
                "ContainerName": self.container_name, "ContainerID": self.container_id,
                "Image": self.image, "Policy": self.policy, "Updated": self.updated}

    def to_json(self) -> dict[str, Any]:
        return {**self.podman_json(), "Reason": self.reason,
                "OldImageID": self.old_image_id, "NewImageID": self.new_image_id,
                "OldDigest": self.old_digest, "NewDigest": self.new_digest}


def tabwriter(text: str, minwidth: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """Go's text/tabwriter (padchar ' ', left-aligned): a cell ends at a tab; a column
    block is the run of consecutive lines that have a cell in that column; a line
    without a tab ends every block."""
    out: list[str] = []
    lines: list[list[str]] = [[]]
    cell: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            for j, c in enumerate(lines[i]):
                out.append(c + " " * (widths[j] - len(c)) if j < len(widths) else c)
            if i + 1 != len(lines):
                out.append("\n")

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    for ch in text:
        if ch == "\t" or ch == "\n":
            lines[-1].append("".join(cell))
            cell.clear()
            if ch == "\n":
                single = len(lines[-1]) == 1
                lines.append([])
                if single:
                    fmt(0, len(lines))
                    lines = [[]]
        else:
            cell.append(ch)
    if cell:
        lines[-1].append("".join(cell))
    fmt(0, len(lines))
    return "".join(out)


def tabulate(lines: Sequence[Sequence[str]]) -> str:
    """Lines of cells through the tabwriter, the last cell of each unpadded."""
    return tabwriter("".join("\t".join(line) + "\n" for line in lines))


def table(rows: Iterable[Row]) -> str:
    lines = [["", *HEADERS]]
    lines += [["", r.unit, r.container, r.image, r.policy, r.updated] for r in rows]
    return tabulate(lines)


def as_json(rows: Iterable[Row]) -> str:
    """Go's json.MarshalIndent (four spaces): UTF-8 kept, ``<``, ``>``, ``&`` (and U+2028/9)
    escaped."""
    return go_json([r.podman_json() for r in rows], "    ")


def parse_table(text: str) -> list[dict[str, str]]:
    """A printed table back to dicts by header (cells are split at two or more spaces),
    to compare our output with Podman's."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False))
            for line in lines[1:]]


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r.unit, r.container_name, r.container_id))
