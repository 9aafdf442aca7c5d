"""Exec-style word splitting and escaping, as systemd (and Podman's Quadlet) do it.

``split_words`` follows systemd's ``extract_first_word`` rules: whitespace separates words,
single and double quotes group them, a backslash escapes the next character, and with
``C_UNESCAPE`` the C escapes (``\\n``, ``\\x41``, ``\\101``, ``\\u00e9``, ``\\s``...) are
decoded. One quirk of Podman's copy is kept on purpose: an empty word (``""``) ends the
split, so both sides of the conformance suite agree.

``escape_words`` is the inverse used when writing ``ExecStart=`` lines: a word that holds
whitespace, a control character, a quote or a backslash is written in double quotes with C
escapes (a space becomes ``\\x20``).
"""

from __future__ import annotations

import enum
import logging
import unicodedata

logger = logging.getLogger(__name__)

WHITESPACE = " \t\n\r"


class SplitError(ValueError):
    """A value could not be split (bad escape, unbalanced quotes)."""


class Split(enum.IntFlag):
    RELAX = 1  # allow unbalanced quotes, eat a trailing backslash
    C_UNESCAPE = 2  # decode C escapes
    UNQUOTE = 32  # quotes group words and are removed
    RETAIN_ESCAPE = 64  # a backslash is an ordinary character


EXEC_FLAGS = Split.RELAX | Split.UNQUOTE | Split.C_UNESCAPE
STRV_FLAGS = Split.RETAIN_ESCAPE | Split.UNQUOTE

_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", '"': '"', "'": "'", "s": " ",
}
_HEX = "0123456789abcdefABCDEF"


def _hex_value(digits: str) -> int | None:
    if not digits or any(c not in _HEX for c in digits):
        return None
    return int(digits, 16)


def c_unescape_one(text: str, pos: int) -> tuple[int, str] | None:
    """Decode the escape whose letter is at ``text[pos]``: (characters used, result)."""
    if pos >= len(text):
        return None
    c = text[pos]
    if c in _SIMPLE_ESCAPES:
        return 1, _SIMPLE_ESCAPES[c]
    if c in "xuU":
        width = {"x": 2, "u": 4, "U": 8}[c]
        value = _hex_value(text[pos + 1:pos + 1 + width])
        if value is None or len(text) - pos - 1 < width or value == 0 or value > 0x10FFFF:
            return None
        if 0xD800 <= value <= 0xDFFF:  # a lone surrogate cannot be encoded: use U+FFFD
            return width + 1, "\ufffd"
        return width + 1, chr(value)
    if c in "01234567":
        digits = text[pos:pos + 3]
        if len(digits) < 3 or any(d not in "01234567" for d in digits):
            return None
        value = int(digits, 8)
        if value == 0 or value > 255:
            return None
        return 3, chr(value)
    return None


def split_words(text: str, flags: Split = EXEC_FLAGS, separators: str = WHITESPACE) -> list[str]:
    """Split ``text`` into words; raises :class:`SplitError` on a bad escape or quote."""
    words: list[str] = []
    n = len(text)
    i = 0
    while True:
        while i < n and text[i] in separators:
            i += 1
        if i >= n:
            return words
        word: list[str] = []
        quote = ""
        while True:
            if i >= n:
                if quote and not flags & Split.RELAX:
                    raise SplitError("unbalanced quotes")
                break
            c = text[i]
            if c == "\\" and not flags & Split.RETAIN_ESCAPE:
                i += 1
                if i >= n:
                    if flags & Split.RELAX:
                        break
                    raise SplitError("unbalanced escape")
                if flags & Split.C_UNESCAPE:
                    decoded = c_unescape_one(text, i)
                    if decoded is None:
                        raise SplitError("unsupported escape char")
                    word.append(decoded[1])
                    i += decoded[0]
                    continue
                word.append(text[i])
                i += 1
            elif quote:
                i += 1
                if c == quote:
                    quote = ""
                else:
                    word.append(c)
            elif c in "'\"" and flags & Split.UNQUOTE:
                quote = c
                i += 1
            elif c in separators:
                break
            else:
                word.append(c)
                i += 1
        if not word:
            # Podman's splitter stops at an empty word: keep that, both sides must agree.
            return words
        words.append("".join(word))


def _needs_escape(c: str, is_path: bool = False) -> bool:
    code = ord(c)
    if code > 128:
        return False
    if is_path and c in "-/":
        return True
    return c.isspace() or unicodedata.category(c) == "Cc" or c in "\"'\\"


_WRITE_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    "\f": "\\f", "\\": "\\\\", " ": "\\x20", '"': '\\"', "'": "'",
}


def escape_string(word: str, is_path: bool = False) -> str:
    out: list[str] = []
    for i, c in enumerate(word):
        if not _needs_escape(c, is_path):
            out.append(c)
        elif c in _WRITE_ESCAPES:
            out.append(_WRITE_ESCAPES[c])
        elif c == "/":
            if i != 0:
                out.append("-")
        else:
            out.append(f"\\x{ord(c):02x}")
    return "".join(out)


def escape_word(word: str) -> str:
    """One word as it goes on an exec line: quoted and escaped only when it has to be."""
    if any(_needs_escape(c) for c in word):
        return '"' + escape_string(word) + '"'
    return word


def escape_words(words: list[str]) -> str:
    return " ".join(escape_word(w) for w in words)


def path_escape(path: str) -> str:
    """``systemd-escape --path``-like escaping of a file system path."""
    return escape_string(path, is_path=True)
