"""A subset of Go's text/template, executed as Go executes it, for ``--format``.

What parses is listed in gotemplate_parse.py. Values are Python's: ``Struct`` is a Go
struct (printed ``{a b c}``, its fields in order), a dict a ``map[string]string``
(printed ``map[k:v]``, keys sorted; a missing key is ``<no value>``), a list a slice.
An error while executing keeps what was written before it, as Go's writer does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.gotext import go_quote
from plugins.auto_update.gotemplate_parse import (
    Action,
    Command,
    Const,
    Control,
    Dot,
    FieldNode,
    Ident,
    Node,
    Pipe,
    Struct,
    TemplateError,
    Text,
    Var,
    node_text,
    parse,
)
from plugins.auto_update.gotemplate_values import (
    FUNCS,
    NO_VALUE,
    go_print,
    go_sprintf,
    go_type,
    is_true,
    sprint,
)

__all__ = ["FUNCS", "Struct", "Template", "TemplateError"]

class _ExecError(Exception):
    def __init__(self, node: Node, msg: str) -> None:
        super().__init__(msg)
        self.node = node


class Template:
    """A parsed template named ``name`` (Podman names its templates after the command)."""

    def __init__(self, name: str, text: str, *, go_1_20: bool = False) -> None:
        self.name = name
        self.text = text
        self.nodes = parse(name, text, set(FUNCS), go_1_20=go_1_20)

    def execute(self, data: Any, out: list[str]) -> None:
        """Append the output to ``out``; what was written before an error stays there."""
        try:
            self._walk(self.nodes, data, data, out)
        except _ExecError as exc:
            raise TemplateError(self._error(exc.node, str(exc))) from None

    def _error(self, node: Node, msg: str) -> str:
        before = self.text[:node.pos]
        line = before.count("\n") + 1
        col = node.pos - (before.rfind("\n") + 1)
        context = node_text(node)
        if len(context) > 20:
            context = context[:20] + "..."
        return (f"template: {self.name}:{line}:{col}: executing {go_quote(self.name)} at "
                f"<{context}>: {msg}")

    # -- walking
    def _walk(self, nodes: list[Node], dot: Any, root: Any, out: list[str]) -> None:
        for n in nodes:
            if isinstance(n, Text):
                out.append(n.text)
            elif isinstance(n, Action):
                out.append(go_print(self._pipe(n.pipe, dot, root)))
            elif isinstance(n, Control):
                self._control(n, dot, root, out)

    def _control(self, n: Control, dot: Any, root: Any, out: list[str]) -> None:
        value = self._pipe(n.pipe, dot, root)
        if n.kind == "range":
            if isinstance(value, dict):
                items = [value[k] for k in sorted(value)]
            elif isinstance(value, list):
                items = value
            elif value is None or value is NO_VALUE:
                items = []
            else:
                raise _ExecError(n.pipe, f"range can't iterate over {go_print(value)}")
            for item in items:
                self._walk(n.body, item, root, out)
            if not items and n.else_body is not None:
                self._walk(n.else_body, dot, root, out)
            return
        if is_true(value):
            self._walk(n.body, value if n.kind == "with" else dot, root, out)
        elif n.else_body is not None:
            self._walk(n.else_body, dot, root, out)

    def _pipe(self, pipe: Pipe, dot: Any, root: Any) -> Any:
        value: Any = _UNSET
        for cmd in pipe.cmds:
            value = self._command(cmd, dot, root, value)
        return value

    def _command(self, cmd: Command, dot: Any, root: Any, final: Any) -> Any:
        first, rest = cmd.args[0], cmd.args[1:]
        if isinstance(first, Ident):
            return self._call(first, rest, dot, root, final)
        if isinstance(first, FieldNode | Var) and (rest or final is not _UNSET):
            raise _ExecError(first, f"{node_text(first).lstrip('.')} has arguments but "
                             "cannot be invoked as function")
        if rest or final is not _UNSET:
            raise _ExecError(first, f"can't give argument to non-function {node_text(first)}")
        return self._arg(first, dot, root)

    def _arg(self, n: Node, dot: Any, root: Any) -> Any:
        if isinstance(n, Dot):
            return dot
        if isinstance(n, Const):
            return n.value
        if isinstance(n, Pipe):
            return self._pipe(n, dot, root)
        if isinstance(n, Var):
            return self._fields(n, root, n.names)
        if isinstance(n, FieldNode):
            base = dot if n.base is None else self._arg(n.base, dot, root)
            return self._fields(n, base, n.names)
        if isinstance(n, Ident):
            return self._call(n, [], dot, root, _UNSET)
        raise _ExecError(n, "can't handle this argument")

    def _fields(self, n: Node, value: Any, names: list[str]) -> Any:
        for name in names:
            if isinstance(value, Struct):
                if name not in value.fields:
                    raise _ExecError(n, f"can't evaluate field {name} in type "
                                     f"{value.type_name}")
                value = value.fields[name]
            elif isinstance(value, dict):
                value = value.get(name, NO_VALUE)
            elif value is None or value is NO_VALUE:
                raise _ExecError(n, f"nil pointer evaluating interface {{}}.{name}")
            else:
                raise _ExecError(n, f"can't evaluate field {name} in type {go_type(value)}")
        return value

    def _call(self, ident: Ident, arg_nodes: list[Node], dot: Any, root: Any,
              final: Any) -> Any:
        name = ident.name
        count = len(arg_nodes) + (final is not _UNSET)
        if name in FUNCS:
            fn, types = FUNCS[name]
            if count != len(types):
                raise _ExecError(ident, f"wrong number of args for {name}: want "
                                 f"{len(types)} got {count}")
        args, nodes = [], list(arg_nodes)
        for i, n in enumerate(arg_nodes):
            if name in FUNCS and isinstance(n, Const):
                _check_const(n, FUNCS[name][1][i])
            args.append(self._arg(n, dot, root))
        if final is not _UNSET:
            # Go reports a bad piped value at the last node it evaluated.
            args.append(final)
            nodes.append(nodes[-1] if nodes else ident)
        if name in FUNCS:
            for a, n, want in zip(args, nodes, types, strict=True):
                if not _is(a, want):
                    raise _ExecError(n, f"wrong type for value; expected {want}; got "
                                     f"{go_type(a)}")
            return fn(*args)
        return self._builtin(ident, name, args)

    def _builtin(self, ident: Ident, name: str, args: list[Any]) -> Any:
        def want(n: int) -> None:
            if len(args) != n:
                raise _ExecError(ident, f"wrong number of args for {name}: want {n} got "
                                 f"{len(args)}")
        if name == "print":
            return sprint(args)
        if name == "println":
            return " ".join(go_print(a) for a in args) + "\n"
        if name == "printf":
            if not args or not isinstance(args[0], str):
                raise _ExecError(ident, f"wrong number of args for printf: want at least 1 "
                                 f"got {len(args)}")
            return go_sprintf(args[0], args[1:])
        if name == "len":
            want(1)
            if not isinstance(args[0], str | list | dict):
                raise _ExecError(ident, f"error calling len: len of type {go_type(args[0])}")
            return len(args[0])
        if name == "not":
            want(1)
            return not is_true(args[0])
        if name in ("and", "or"):
            if not args:
                raise _ExecError(ident, f"wrong number of args for {name}: want at least 1 "
                                 "got 0")
            # The first that decides (false for and, true for or), else the last.
            return next((a for a in args[:-1] if is_true(a) == (name == "or")), args[-1])
        if name in ("eq", "ne"):
            if len(args) < 2:
                raise _ExecError(ident, f"wrong number of args for {name}: want "
                                 f"{'at least 1' if name == 'eq' else '2'} got {len(args)}")
            equal = any(args[0] == a for a in args[1:])
            return equal if name == "eq" else not equal
        if name == "index":
            value = args[0] if args else None
            for key in args[1:]:
                if isinstance(value, dict):
                    value = value.get(key, NO_VALUE)
                elif isinstance(value, list | str) and isinstance(key, int):
                    if not 0 <= key < len(value):
                        raise _ExecError(ident, f"error calling index: index out of range: "
                                         f"{key}")
                    value = value[key]
                else:
                    raise _ExecError(ident, f"error calling index: can't index item of type "
                                     f"{go_type(value)}")
            return value
        raise _ExecError(ident, f"{name} is not supported by podbridge's --format")


_KINDS = {"int": "integer", "string": "string"}


def _check_const(n: Const, want: str) -> None:
    """Go's evalArg for a constant: its kind must fit the parameter."""
    if n.value is None and want != "any":
        raise _ExecError(n, f"cannot assign nil to {want}")
    if want in _KINDS and not _is(n.value, want):
        raise _ExecError(n, f"expected {_KINDS[want]}; found {n.text}")
    if want == "[]string":
        raise _ExecError(n, f"can't handle {n.text} for arg of type []string")


_UNSET: Any = object()  # no value piped into a command


# A function's parameter type -> whether a value fits it.
_FITS: dict[str, Callable[[Any], bool]] = {
    "any": lambda v: True,
    "string": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "[]string": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _is(value: Any, want: str) -> bool:
    return want in _FITS and _FITS[want](value)
