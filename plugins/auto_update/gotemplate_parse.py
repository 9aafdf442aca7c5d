"""The parser of the Go text/template subset (see gotemplate.py), with Go's error texts.

Supported: text; ``{{pipeline}}`` actions with fields (``.Unit``, chains), ``.``, ``$``,
strings, raw strings, numbers, ``true``/``false``/``nil``, parentheses and ``|`` pipes;
``if``/``with``/``range`` with ``else`` and ``end``; comments; the ``{{-``/``-}}`` trim
markers. Functions: Podman's (``json``, ``lower``, ``upper``, ``title``, ``pad``,
``truncate``, ``join``, ``split``) and Go's ``print``, ``println``, ``printf`` (verbs
``%s %v %d %q %%`` with widths), ``len``, ``index``, ``not``, ``and``, ``or``, ``eq``,
``ne``. Not supported (refused with a clear error): ``define``, ``template``, ``block``,
``break``, ``continue`` and variable declarations.

Parse errors are Go's words, e.g. ``template: auto-update:1: bad character U+007B '{'``;
execution errors too (``template: auto-update:1:13: executing "auto-update" at <.Foo>:
can't evaluate field Foo in type main.autoUpdateOutput``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.gotext import go_quote
from plugins.auto_update.gotemplate_lex import Item, Lexer, T


class TemplateError(Exception):
    """A template that does not parse, or fails when executed; the text is Go's."""


@dataclass
class Struct:
    """A Go struct value: its type's name (``main.autoUpdateOutput``) and its fields."""

    type_name: str
    fields: dict[str, Any]


# -- nodes
@dataclass
class Node:
    pos: int


@dataclass
class Text(Node):
    text: str


@dataclass
class FieldNode(Node):
    names: list[str]            # .A.B -> [A, B]; on a receiver when ``base`` is set
    base: Node | None = None
    text: str = ""


@dataclass
class Dot(Node):
    pass


@dataclass
class Var(Node):
    name: str
    names: list[str] = field(default_factory=list)


@dataclass
class Ident(Node):
    name: str


@dataclass
class Const(Node):
    value: Any
    text: str


@dataclass
class Command(Node):
    args: list[Node]


@dataclass
class Pipe(Node):
    cmds: list[Command]


@dataclass
class Action(Node):
    pipe: Pipe


@dataclass
class Control(Node):
    kind: str                    # if | with | range
    pipe: Pipe
    body: list[Node]
    else_body: list[Node] | None


@dataclass
class _End(Node):
    pass


@dataclass
class _Else(Node):
    pass


def node_text(n: Node) -> str:
    """Go's Node.String(), for the ``at <...>`` of execution errors."""
    if isinstance(n, FieldNode):
        return n.text
    if isinstance(n, Dot):
        return "."
    if isinstance(n, Var):
        return n.name + "".join("." + x for x in n.names)
    if isinstance(n, Ident):
        return n.name
    if isinstance(n, Const):
        return n.text
    if isinstance(n, Command):
        return " ".join(f"({node_text(a)})" if isinstance(a, Pipe) else node_text(a)
                        for a in n.args)
    if isinstance(n, Pipe):
        return " | ".join(node_text(c) for c in n.cmds)
    return "?"


FUNCS_BUILTIN = {"and", "or", "not", "len", "index", "print", "printf", "println", "eq",
                 "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery", "slice", "call"}


# -- the parser
class Parser:
    def __init__(self, name: str, text: str, funcs: set[str], *, go_1_20: bool = False
                 ) -> None:
        self.name = name
        self.text = text
        self.funcs = funcs
        self._items: Iterator[Item] = Lexer(text, paren_error_first=go_1_20).items()
        self._ahead: list[Item] = []
        self._last: Item | None = None
        self.action_line = 0

    def _next(self) -> Item:
        item = self._ahead.pop() if self._ahead else next(self._items)
        self._last = item
        return item

    def _backup(self, item: Item) -> None:
        self._ahead.append(item)

    def _peek(self) -> Item:
        item = self._next()
        self._backup(item)
        return item

    def _next_non_space(self) -> Item:
        item = self._next()
        while item.typ is T.SPACE:
            item = self._next()
        return item

    def _peek_non_space(self) -> Item:
        item = self._next_non_space()
        self._backup(item)
        return item

    def error(self, msg: str) -> TemplateError:
        line = self._last.line if self._last is not None else 1
        return TemplateError(f"template: {self.name}:{line}: {msg}")

    def unexpected(self, item: Item, context: str) -> TemplateError:
        if item.typ is T.ERROR:
            extra = ""
            if self.action_line and self.action_line != item.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if item.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            return self.error(f"{item}{extra}")
        return self.error(f"unexpected {item} in {context}")

    # -- grammar
    def parse(self) -> list[Node]:
        nodes: list[Node] = []
        while self._peek().typ is not T.EOF:
            n = self._text_or_action()
            if isinstance(n, _End | _Else):
                raise self.error("unexpected {{end}}" if isinstance(n, _End)
                                 else "unexpected {{else}}")
            nodes.append(n)
        return nodes

    def _item_list(self) -> tuple[list[Node], Node]:
        nodes: list[Node] = []
        while self._peek_non_space().typ is not T.EOF:
            n = self._text_or_action()
            if isinstance(n, _End | _Else):
                return nodes, n
            nodes.append(n)
        raise self.error("unexpected EOF")

    def _text_or_action(self) -> Node:
        item = self._next_non_space()
        if item.typ is T.TEXT:
            return Text(item.pos, item.val)
        if item.typ is T.LEFT_DELIM:
            self.action_line = item.line
            try:
                return self._action()
            finally:
                self.action_line = 0
        raise self.unexpected(item, "input")

    def _action(self) -> Node:
        item = self._next_non_space()
        if item.typ is T.ELSE and self._peek_non_space().typ in (T.IF, T.WITH):
            # Go's elseControl looks for the if (or with) before the delimiter.
            raise self.error("{{else if}} and {{else with}} are not supported by podbridge's "
                             "--format")
        if item.typ in (T.ELSE, T.END):
            self._expect(T.RIGHT_DELIM, item.val)
            return (_Else if item.typ is T.ELSE else _End)(item.pos)
        if item.typ in (T.IF, T.WITH, T.RANGE):
            return self._control(item.val)
        if item.typ in (T.DEFINE, T.TEMPLATE, T.BLOCK, T.BREAK, T.CONTINUE):
            raise self.error(f"{{{{{item.val}}}}} is not supported by podbridge's --format")
        self._backup(item)
        return Action(self._peek().pos, self._pipeline("command", T.RIGHT_DELIM))

    def _expect(self, typ: T, context: str) -> Item:
        item = self._next_non_space()
        if item.typ is not typ:
            raise self.unexpected(item, context)
        return item

    def _control(self, kind: str) -> Node:
        pipe = self._pipeline(kind, T.RIGHT_DELIM)
        body, nxt = self._item_list()
        else_body = None
        if isinstance(nxt, _Else):
            else_body, nxt = self._item_list()
            if not isinstance(nxt, _End):
                raise self.error("expected end; found {{else}}")
        return Control(pipe.pos, kind, pipe, body, else_body)

    def _pipeline(self, context: str, end: T) -> Pipe:
        v = self._peek_non_space()
        if v.typ is T.VARIABLE:
            var = self._next_non_space()
            nxt = self._peek_non_space()
            if nxt.typ in (T.DECLARE, T.ASSIGN) or (nxt.typ is T.CHAR and nxt.val == ","):
                raise self.error("variable declarations are not supported by podbridge's "
                                 "--format")
            self._backup(var)
        cmds: list[Command] = []
        while True:
            item = self._next_non_space()
            if item.typ is end:
                if not cmds:
                    raise self.error(f"missing value for {context}")
                for i, c in enumerate(cmds[1:]):
                    if isinstance(c.args[0], Const | Dot):
                        raise self.error(f"non executable command in pipeline stage {i + 2}")
                return Pipe(v.pos, cmds)
            if item.typ in (T.BOOL, T.CHAR_CONSTANT, T.DOT, T.FIELD, T.IDENTIFIER, T.NUMBER,
                            T.NIL, T.RAW_STRING, T.STRING, T.VARIABLE, T.LEFT_PAREN):
                self._backup(item)
                cmds.append(self._command())
            else:
                raise self.unexpected(item, context)

    def _command(self) -> Command:
        cmd = Command(self._peek_non_space().pos, [])
        while True:
            self._peek_non_space()
            operand = self._operand()
            if operand is not None:
                cmd.args.append(operand)
            item = self._next()
            if item.typ is T.SPACE:
                continue
            if item.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self._backup(item)
            elif item.typ is not T.PIPE:
                raise self.unexpected(item, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def _operand(self) -> Node | None:
        node = self._term()
        if node is None:
            return None
        if self._peek().typ is T.FIELD:
            names = []
            chain_pos = self._peek().pos  # Go places the whole chain at its first link
            while self._peek().typ is T.FIELD:
                names.append(self._next().val[1:])
            if isinstance(node, FieldNode) and node.base is None:
                node.names += names
                node.text = "".join("." + n for n in node.names)
                node.pos = chain_pos
            elif isinstance(node, Var):
                node.names += names
                node.pos = chain_pos
            elif isinstance(node, Const | Dot):
                raise self.error(f"unexpected . after term {go_quote(node_text(node))}")
            else:
                text = node_text(node)
                node = FieldNode(chain_pos, names, node,
                                 f"({text})" + "".join("." + n for n in names))
        return node

    def _term(self) -> Node | None:
        item = self._next_non_space()
        typ = item.typ
        if typ is T.IDENTIFIER:
            if item.val not in self.funcs and item.val not in FUNCS_BUILTIN:
                raise self.error(f"function {go_quote(item.val)} not defined")
            return Ident(item.pos, item.val)
        if typ is T.DOT:
            return Dot(item.pos)
        if typ is T.NIL:
            return Const(item.pos, None, "nil")
        if typ is T.VARIABLE:
            if item.val != "$":
                raise self.error(f"undefined variable {go_quote(item.val)}")
            return Var(item.pos, "$")
        if typ is T.FIELD:
            return FieldNode(item.pos, [item.val[1:]], None, item.val)
        if typ is T.BOOL:
            return Const(item.pos, item.val == "true", item.val)
        if typ is T.NUMBER:
            return Const(item.pos, _number(item.val, self), item.val)
        if typ is T.CHAR_CONSTANT:
            return Const(item.pos, ord(_unquote(item.val, self)), item.val)
        if typ is T.LEFT_PAREN:
            return self._pipeline("parenthesized pipeline", T.RIGHT_PAREN)
        if typ in (T.STRING, T.RAW_STRING):
            return Const(item.pos, _unquote(item.val, self), item.val)
        self._backup(item)
        return None


def _number(text: str, parser: Parser) -> int | float:
    t = text.replace("_", "")
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        raise parser.error(f"illegal number syntax: {go_quote(text)}") from None


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}
_HEX_SIZES = {"x": 2, "u": 4, "U": 8}


def _unquote(text: str, parser: Parser) -> str:
    if text.startswith("`"):
        return text[1:-1]
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            size = _HEX_SIZES.get(nxt)
            if size is None:
                raise parser.error("invalid syntax")
            try:
                out.append(chr(int(body[i + 2:i + 2 + size], 16)))
            except ValueError:
                raise parser.error("invalid syntax") from None
            i += 2 + size
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse(name: str, text: str, funcs: set[str], *, go_1_20: bool = False) -> list[Node]:
    """``go_1_20``: parse as Go 1.20+ does (the Go Podman 5 is built with)."""
    return Parser(name, text, funcs, go_1_20=go_1_20).parse()
