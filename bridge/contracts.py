"""Typed contracts: every event topic and every stored record has one TypedDict, declared
by whoever publishes or stores it. A ``Topic`` is the topic's name (a ``str``, so every
call that takes a topic takes it) that also knows its data's type, which makes
``bus.publish(TOPIC, ..., Data(...))`` and ``bus.listen(TOPIC, fn)`` typed.

``python -m bridge.contracts`` prints the JSON Schema of them all (the core's and those of
every plugin found); ``--typescript FILE`` writes the panel's types made from it.
Times on the wire are RFC 3339 UTC strings (``2026-11-29T10:00:00.000000Z``): see
docs/choices.md, "One form for times".
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

D = TypeVar("D", bound=Mapping[str, Any])

TOPICS: dict[str, Topic[Any]] = {}
RECORDS: dict[str, Any] = {}
# Modules that declare contracts: imported by the exporter so that all are registered.
CORE_MODULES = ("bridge.events", "bridge.state", "bridge.audit", "bridge.owners",
                "bridge.plugin", "bridge.updates", "bridge.methods_images",
                "bridge.methods_pods", "bridge.fleet.outbox",
                "bridge.container_details")


class Topic(str, Generic[D]):
    """A topic and the TypedDict of its events' data. ``owner`` is the publisher (the
    core, or a plugin's name). A name may be a family (``container.*``): one type for
    every action of the kind."""

    data_type: Any
    owner: str

    def __new__(cls, name: str, data: type[D], owner: str = "bridge") -> Topic[D]:
        self = super().__new__(cls, name)
        self.data_type = data
        self.owner = owner
        TOPICS[name] = self
        return self


def record(name: str, owner: str = "bridge") -> Any:
    """Class decorator: ``name`` is a stored (or listed) record of this TypedDict."""
    def add(cls: Any) -> Any:
        cls.__contract_owner__ = owner
        RECORDS[name] = cls
        return cls
    return add


def _load_all() -> None:
    """Import every module that declares contracts: the core's, and each plugin found
    (loading a plugin imports the modules that publish its topics)."""
    for module in CORE_MODULES:
        importlib.import_module(module)
    from bridge.plugin import discover
    discover()


def schema() -> dict[str, Any]:
    """One JSON Schema document: ``$defs`` holds each topic's data and each record, by
    the name of its TypedDict; ``topics`` and ``records`` map names to them."""
    _load_all()
    defs: dict[str, Any] = {}
    topics: dict[str, Any] = {}
    records: dict[str, Any] = {}

    def add(typ: Any) -> str:
        """The definition of ``typ``, named by its class (a type shared by several topics,
        ``RestartData``, is defined once)."""
        title = str(typ.__name__)
        if title not in defs:
            sub = TypeAdapter(typ).json_schema(ref_template="#/$defs/{model}")
            defs.update(sub.pop("$defs", {}))
            defs[title] = {**sub, "title": title}
        return title

    for name in sorted(TOPICS):
        t = TOPICS[name]
        topics[name] = {"$ref": f"#/$defs/{add(t.data_type)}", "owner": t.owner}
    for name in sorted(RECORDS):
        cls = RECORDS[name]
        records[name] = {"$ref": f"#/$defs/{add(cls)}",
                         "owner": getattr(cls, "__contract_owner__", "bridge")}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "podbridge contracts", "topics": topics, "records": records,
            "$defs": dict(sorted(defs.items()))}


# -- TypeScript, from the schema -------------------------------------------------------------

_TS_SCALARS = {"string": "string", "integer": "number", "number": "number",
               "boolean": "boolean", "null": "null"}


def _ts(node: Mapping[str, Any], indent: str = "", readonly: bool = False) -> str:
    if "$ref" in node:
        return str(node["$ref"]).rsplit("/", 1)[1]
    if "const" in node:
        return json.dumps(node["const"])
    if "enum" in node:
        return " | ".join(json.dumps(v) for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(_ts(n, indent, readonly) for n in node[key])
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(_ts({**node, "type": k}, indent) for k in kind)
    if kind in _TS_SCALARS:
        return _TS_SCALARS[kind]
    if kind == "array":
        items = node.get("items")
        if isinstance(items, Mapping):
            inner = _ts(items, indent)
            return f"({inner})[]" if "|" in inner else f"{inner}[]"
        if "prefixItems" in node:
            return "[" + ", ".join(_ts(n, indent) for n in node["prefixItems"]) + "]"
        return "unknown[]"
    if kind == "object":
        props: Mapping[str, Any] = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if not props:
            if isinstance(extra, Mapping):
                return f"Record<string, {_ts(extra, indent)}>"
            return "Record<string, unknown>"
        required = set(node.get("required") or [])
        lines = ["{"]
        for key, sub in props.items():
            opt = "" if key in required else "?"
            mark = "readonly " if readonly else ""
            lines.append(f"{indent}  {mark}{key}{opt}: {_ts(sub, indent + '  ', readonly)};")
        lines.append(f"{indent}}}")
        return "\n".join(lines)
    return "unknown"


def typescript(doc: Mapping[str, Any]) -> str:
    """The TypeScript of the schema: an interface (or type) per definition, and maps from
    topic and record names to them. Event data is read-only (``readonly``); records are
    the panel's to keep up to date."""
    event_types = {str(e["$ref"]).rsplit("/", 1)[1] for e in doc["topics"].values()}
    out = ["// Generated by `python -m bridge.contracts --typescript` from the bridge's",
           "// contracts (bridge/contracts.py). Do not edit: `make panel` writes it again.",
           ""]
    for name, node in doc["$defs"].items():
        body = _ts(node, readonly=name in event_types)
        if body.startswith("{"):
            out.append(f"export interface {name} {body}")
        else:
            out.append(f"export type {name} = {body};")
        out.append("")
    for table, kind in (("topics", "TopicData"), ("records", "RecordTypes")):
        out.append(f"export interface {kind} {{")
        for name, entry in doc[table].items():
            out.append(f"  {json.dumps(name)}: {_ts(entry)};")
        out.append("}")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.contracts",
                                     description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--typescript", type=Path, metavar="FILE",
                        help="write the panel's TypeScript types to FILE")
    args = parser.parse_args(argv)
    doc = schema()
    if args.typescript is not None:
        text = typescript(doc)
        if not args.typescript.exists() or args.typescript.read_text() != text:
            args.typescript.parent.mkdir(parents=True, exist_ok=True)
            args.typescript.write_text(text)
        return 0
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    # Run as a script this module is __main__: use the one the others registered into.
    from bridge.contracts import main as _main
    raise SystemExit(_main())
