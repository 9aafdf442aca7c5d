"""``--format`` as Podman's ``auto-update`` has it: its default table, ``json``, and Go
templates, with the preprocessing of containers/common's ``report`` package that Podman
applies to them, and Go's text/tabwriter for tables.

- ``json``: the rows as an indented JSON array (output.as_json).
- A template starting with ``table ``: every space becomes a tab (so ``table {{.Unit}}
  {{.Image}}`` is two columns), ``\\t``/``\\n`` written as two characters become a tab and
  a newline, a newline is added at the end, the whole is run once per row, after one run
  on the headers (``UNIT``, ``CONTAINER NAME``, ...), through a tabwriter (cells at least
  12 wide, 2 spaces of padding).
- Any other template: ``\\t``/``\\n`` as above, a newline at the end, run once per row
  unless it has its own ``{{range .}}...{{end}}``; no headers, no tabwriter.
- If the preprocessed text does not parse, the text as written is parsed instead (Podman
  does so for templates such as ``{{printf "\\n"}}``), and its error is the one reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plugins.auto_update.compat import Compat
from plugins.auto_update.gotemplate import Struct, Template, TemplateError
from plugins.auto_update.output import Row, tabwriter

NAME = "auto-update"  # Podman names the template after the command
TYPE_NAME = "main.autoUpdateOutput"
DEFAULT = ("{{range . }}\t{{.Unit}}\t{{.Container}}\t{{.Image}}\t{{.Policy}}\t{{.Updated}}\n"
           "{{end -}}")
HEADERS = {"Unit": "UNIT", "Container": "CONTAINER", "ContainerName": "CONTAINER NAME",
           "ContainerID": "CONTAINER ID", "Image": "IMAGE", "Policy": "POLICY",
           "Updated": "UPDATED"}

_TABLE_REPLACE = (("table ", ""), ("\\t", "\t"), (" ", "\t"), ("\\n", "\n"))
_ESCAPED_REPLACE = (("\\t", "\t"), ("\\n", "\n"))
_RANGE = re.compile(r"(?s)\{\{[\t\n\f\r ]*range[\t\n\f\r ]*\.[\t\n\f\r ]*\}\}.*"
                    r"\{\{[\t\n\f\r ]*end[\t\n\f\r ]*-?[\t\n\f\r ]*\}\}")


def _replace(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    """Go's strings.NewReplacer: left to right, the first listed pattern wins (as the
    first alternative of a regular expression that matches does)."""
    new = dict(pairs)
    return re.sub("|".join(re.escape(old) for old, _ in pairs), lambda m: new[m[0]], text)


def normalize(text: str) -> str:
    out = _replace(text, _TABLE_REPLACE if text.startswith("table ") else _ESCAPED_REPLACE)
    return out if out.endswith("\n") else out + "\n"


def enforce_range(text: str) -> str:
    return text if _RANGE.search(text) else "{{range .}}" + text + "{{end -}}"


def values(rows: Iterable[Row]) -> list[Struct]:
    """The rows as the template sees them: Podman's struct, its fields in its order."""
    return [Struct(TYPE_NAME, r.podman_json()) for r in rows]


@dataclass
class Formatter:
    template: Template
    table: bool  # a tabwriter and a header line

    @classmethod
    def parse(cls, fmt: str, podman_major: int = 4) -> Formatter:
        """``fmt`` as Podman parses it (``""`` is the default table; not ``json``);
        TemplateError with Go's text if it does not parse."""
        if fmt == "":
            norm, raw, table = normalize(DEFAULT), DEFAULT, True
        elif fmt.startswith("table "):
            # Podman 4 re-parses the text with its "table " still in front, 5 without.
            body = fmt if podman_major < 5 else fmt[len("table "):]
            norm, raw, table = "{{range .}}" + normalize(fmt) + "{{end -}}", (
                "{{range .}}" + body + "{{end -}}"), True
        else:
            norm, raw, table = enforce_range(normalize(fmt)), enforce_range(fmt), False
        go_1_20 = Compat(podman_major).lexer_paren_error_first
        try:
            return cls(Template(NAME, norm, go_1_20=go_1_20), table)
        except TemplateError:
            return cls(Template(NAME, raw, go_1_20=go_1_20), table)

    def render(self, rows: Iterable[Row]) -> tuple[str, TemplateError | None]:
        """What Podman prints on stdout, and the error it then reports (if any)."""
        out: list[str] = []
        error = None
        try:
            if self.table:
                self.template.execute([dict(HEADERS)], out)
            self.template.execute(values(rows), out)
        except TemplateError as exc:
            error = exc
        text = "".join(out)
        return (tabwriter(text) if self.table else text), error
