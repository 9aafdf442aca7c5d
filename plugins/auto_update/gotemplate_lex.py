"""The lexer of Go's text/template, for ``--format``: the same tokens, in the same order,
with the same error texts as Go's (so that a template Podman refuses is refused here with
Podman's words). Tokens come lazily, as Go's parser pulls them: a parser that fails on an
early token never sees a later lexing error, as in Go.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from bridge.gotext import go_quote

LEFT, RIGHT = "{{", "}}"
TRIM = "-"
SPACES = " \t\r\n"


# Go's item types, in Go's order: the keywords (BLOCK on) come last.
T = Enum("T", "ERROR BOOL CHAR CHAR_CONSTANT ASSIGN DECLARE EOF FIELD IDENTIFIER LEFT_DELIM "
              "LEFT_PAREN NUMBER PIPE RAW_STRING RIGHT_DELIM RIGHT_PAREN SPACE STRING TEXT "
              "VARIABLE BLOCK BREAK CONTINUE DOT DEFINE ELSE END IF NIL RANGE TEMPLATE WITH")


KEYWORDS = {".": T.DOT, "block": T.BLOCK, "break": T.BREAK, "continue": T.CONTINUE,
            "define": T.DEFINE, "else": T.ELSE, "end": T.END, "if": T.IF,
            "range": T.RANGE, "nil": T.NIL, "template": T.TEMPLATE, "with": T.WITH}
_FIRST_KEYWORD = T.BLOCK.value


@dataclass(frozen=True, slots=True)
class Item:
    typ: T
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        """As Go's item.String(), used in parse errors."""
        if self.typ is T.EOF:
            return "EOF"
        if self.typ is T.ERROR:
            return self.val
        if self.typ.value >= _FIRST_KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def rune_desc(ch: str) -> str:
    """Go's %#U: ``U+007B '{'``."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def _alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


class Lexer:
    """``paren_error_first``: Go 1.20+'s lexer, which fails on an unbalanced ``)`` itself
    (``unexpected right paren``) instead of handing it to the parser first, as Go 1.19's
    did (the parser then says ``unexpected ")" in command``)."""

    def __init__(self, text: str, *, paren_error_first: bool = False) -> None:
        self.paren_error_first = paren_error_first
        self.text = text
        self.pos = 0
        self.start = 0
        self.paren_depth = 0

    def _line(self, pos: int) -> int:
        return 1 + self.text.count("\n", 0, pos)

    # -- helpers
    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _next(self) -> str:
        ch = self._peek()
        if ch:
            self.pos += 1
        return ch

    def _backup(self) -> None:
        self.pos -= 1

    def _accept(self, valid: str) -> bool:
        """Go's accept: take the next character if it is one of ``valid``."""
        if self._peek() and self._peek() in valid:
            self._next()
            return True
        return False

    def _accept_run(self, valid: str) -> None:
        """Go's acceptRun: take every next character that is one of ``valid``."""
        while self._accept(valid):
            pass

    def _emit(self, typ: T) -> Item:
        item = Item(typ, self.start, self.text[self.start:self.pos], self._line(self.start))
        self.start = self.pos
        return item

    def _ignore(self) -> None:
        self.start = self.pos

    def _error(self, msg: str) -> Item:
        return Item(T.ERROR, self.start, msg, self._line(self.start))

    def _at_right_delim(self) -> tuple[bool, bool]:
        rest = self.text[self.pos:]
        if len(rest) > 1 and rest[0] in SPACES and rest[1:].startswith(TRIM + RIGHT):
            return True, True
        return rest.startswith(RIGHT), False

    def _at_terminator(self) -> bool:
        ch = self._peek()
        return (ch == "" or ch in SPACES or ch in ".,|:)("
                or self.text.startswith(RIGHT, self.pos))

    # -- the token stream
    def items(self) -> Iterator[Item]:
        """Every token, ending with EOF or an ERROR item (after which nothing comes)."""
        while True:
            # text
            i = self.text.find(LEFT, self.pos)
            if i < 0:
                self.pos = len(self.text)
                if self.pos > self.start:
                    yield self._emit(T.TEXT)
                yield Item(T.EOF, self.pos, "", self._line(self.pos))
                return
            after = self.text[i + len(LEFT):]
            trim = len(after) > 1 and after[0] == TRIM and after[1] in SPACES
            end = i
            if trim:
                while end > self.start and self.text[end - 1] in SPACES:
                    end -= 1
            self.pos = end
            if self.pos > self.start:
                yield self._emit(T.TEXT)
            self.pos = i
            self._ignore()
            # left delimiter (or a comment)
            self.pos += len(LEFT) + (2 if trim else 0)
            if self.text.startswith("/*", self.pos):
                err = self._comment()
                if err is not None:
                    yield err
                    return
                continue
            yield Item(T.LEFT_DELIM, self.start, LEFT, self._line(self.start))
            self._ignore()
            self.paren_depth = 0
            for item in self._inside_action():
                yield item
                if item.typ is T.ERROR:
                    return

    def _comment(self) -> Item | None:
        self.pos += 2
        close = self.text.find("*/", self.pos)
        if close < 0:
            return self._error("unclosed comment")
        self.pos = close + 2
        delim, trim = self._at_right_delim()
        if not delim:
            return self._error("comment ends before closing delimiter")
        self.pos += (2 if trim else 0) + len(RIGHT)  # space and marker
        self._ignore()
        if trim:
            self._accept_run(SPACES)
            self._ignore()
        return None

    def _right_delim(self, trim: bool) -> Item:
        if trim:
            self.pos += 2  # space and marker
            self._ignore()
        self.pos += len(RIGHT)
        item = self._emit(T.RIGHT_DELIM)
        if trim:
            self._accept_run(SPACES)
            self._ignore()
        return item

    def _inside_action(self) -> Iterator[Item]:
        while True:
            delim, trim = self._at_right_delim()
            if delim:
                if self.paren_depth == 0:
                    yield self._right_delim(trim)
                    return
                yield self._error("unclosed left paren")
                return
            ch = self._next()
            if ch == "":
                yield self._error("unclosed action")
                return
            if ch in SPACES:
                self._backup()
                yield from self._space()
            elif ch in "=|":
                yield self._emit(T.ASSIGN if ch == "=" else T.PIPE)
            elif ch == ":":
                if self._next() != "=":
                    yield self._error("expected :=")
                    return
                yield self._emit(T.DECLARE)
            elif ch == '"':
                yield self._quoted('"', T.STRING, "quoted string")
            elif ch == "`":
                yield self._raw_quote()
            elif ch == "$":
                yield self._field_or_variable(T.VARIABLE)
            elif ch == "'":
                yield self._quoted("'", T.CHAR_CONSTANT, "character constant")
            elif ch == "." and not ("0" <= self._peek() <= "9") and self._peek() != "":
                yield self._field_or_variable(T.FIELD)
            elif ch in "+-." or "0" <= ch <= "9":
                self._backup()
                yield self._number()
            elif _alnum(ch):
                self._backup()
                yield self._identifier()
            elif ch == "(":
                self.paren_depth += 1
                yield self._emit(T.LEFT_PAREN)
            elif ch == ")" and self.paren_error_first and self.paren_depth == 0:
                yield self._error("unexpected right paren")
                return
            elif ch == ")":
                # Go 1.19 emits the paren before it finds it unbalanced: the parser fails
                # on it first.
                yield self._emit(T.RIGHT_PAREN)
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    yield self._error(f"unexpected right paren {rune_desc(ch)}")
                    return
            elif ord(ch) < 0x80 and ch.isprintable():
                yield self._emit(T.CHAR)
            else:
                yield self._error(f"unrecognized character in action: {rune_desc(ch)}")
                return

    def _space(self) -> Iterator[Item]:
        start = self.pos
        self._accept_run(SPACES)
        n = self.pos - start
        if self.text.startswith(TRIM + RIGHT, self.pos):
            self._backup()  # before the space that belongs to the trim marker
            if n == 1:
                return
        yield self._emit(T.SPACE)

    def _identifier(self) -> Item:
        while _alnum(self._peek()):
            self._next()
        if not self._at_terminator():
            return self._error(f"bad character {rune_desc(self._peek())}")
        word = self.text[self.start:self.pos]
        return self._emit(KEYWORDS.get(word, T.BOOL if word in ("true", "false") else T.IDENTIFIER))

    def _field_or_variable(self, typ: T) -> Item:
        if self._at_terminator():
            return self._emit(T.VARIABLE if typ is T.VARIABLE else T.DOT)
        while _alnum(self._peek()):
            self._next()
        if not self._at_terminator():
            return self._error(f"bad character {rune_desc(self._peek())}")
        return self._emit(typ)

    def _quoted(self, close: str, typ: T, what: str) -> Item:
        """A string or character constant up to ``close``; a backslash escapes the next
        character (checked later, by the parser), a newline or the end is an error."""
        while True:
            ch = self._next()
            if ch == "\\":
                nxt = self._next()
                if nxt not in ("", "\n"):
                    continue
                ch = nxt
            if ch in ("", "\n"):
                return self._error(f"unterminated {what}")
            if ch == close:
                return self._emit(typ)

    def _raw_quote(self) -> Item:
        close = self.text.find("`", self.pos)
        if close < 0:
            return self._error("unterminated raw quoted string")
        self.pos = close + 1
        return self._emit(T.RAW_STRING)

    def _number(self) -> Item:
        self._accept("+-")
        digits = "0123456789_"
        if self._accept("0") and self._accept("xX"):
            digits = "0123456789abcdefABCDEF_"
        self._accept_run(digits)
        if self._accept("."):
            self._accept_run(digits)
        if digits[-2] == "9" and self._accept("eE"):
            self._accept("+-")
            self._accept_run("0123456789_")
        self._accept("i")
        if _alnum(self._peek()):
            self._next()
            return self._error(f"bad number syntax: {go_quote(self.text[self.start:self.pos])}")
        return self._emit(T.NUMBER)
