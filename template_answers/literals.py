"""How an answer is written into a generated file: as a string literal or as Markdown text.

The answers themselves are checked first (``text.py`` refuses control characters, line
breaks, lone surrogates and noncharacters in free text); these functions still escape all of
them, so that whatever reaches a file keeps it valid.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

# Characters json.dumps(ensure_ascii=False) leaves raw that some reader of the result refuses
# or misreads: DEL (TOML refuses it raw), the C1 controls (YAML refuses them, and reads NEL as
# a line break), the line and paragraph separators (line breaks to YAML), the byte order mark
# and U+FFFE/U+FFFF (YAML refuses them), and lone surrogates (no UTF-8 encoding exists).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def json_literal(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON whose strings are also valid TOML, YAML and Python string literals.

    This is the template's ``tojson``. Jinja's own escapes every non-ASCII character, and
    JSON can only write one outside the Basic Multilingual Plane (an emoji, rarer CJK) as a
    surrogate pair, which TOML refuses and Python reads as two broken characters. So text is
    left readable (accents, CJK, right-to-left scripts, emoji) and only what JSON itself must
    escape (quotes, backslashes, C0 controls) plus ``_JSON_UNSAFE`` is escaped. Unlike Jinja's,
    the result is not HTML-escaped: ``'``, ``<``, ``>`` and ``&`` stay as they are, so a value
    that may hold ``'`` must not be placed inside single quotes (the template only puts its
    own constants there).
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=indent)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_PYTHON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_INDENT = "    "


def _python_escaped(char: str) -> str:
    code = ord(char)
    if char in _PYTHON_ESCAPES:
        return _PYTHON_ESCAPES[char]
    if 0x20 <= code < 0x7F:
        return char
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def python_literal(text: str) -> str:
    """``text`` as a double-quoted Python string literal made of ASCII characters only.

    Non-ASCII characters are written as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``: ruff's
    RUF001 refuses raw look-alike characters in strings (a typographic apostrophe, a Greek
    omicron, fullwidth letters), and raw right-to-left or bidirectional-control characters
    can make source code display in a misleading order. The value is exactly ``text``.
    """
    return '"' + "".join(map(_python_escaped, text)) + '"'


def python_constant(text: str, name: str, width: int) -> str:
    """``name = <text as python_literal>`` laid out as ruff formats a module-level assignment
    within ``width`` columns: on one line if it fits; else the literal alone in parentheses;
    else split into several literals, one per line (Python joins them back)."""
    literal = python_literal(text)
    if len(f"{name} = {literal}") <= width:
        return f"{name} = {literal}"
    if len(_INDENT + literal) <= width:
        return f"{name} = (\n{_INDENT}{literal}\n)"
    room = width - len(_INDENT) - 2  # the quotes
    parts = [""]
    for escaped in map(_python_escaped, text):
        if len(parts[-1]) + len(escaped) > room:
            parts.append("")
        parts[-1] += escaped
    lines = "".join(f'{_INDENT}"{part}"\n' for part in parts)
    return f"{name} = (\n{lines})"


# Characters with a meaning anywhere in a line of (GitHub-flavoured) Markdown: escapes, code,
# emphasis, links and images, HTML and entities, headings' closing '#', tables,
# strikethrough and math.
_MARKDOWN_INLINE = frozenset("\\`*_[]<>&#|~$")
_ORDERED_LIST_START = re.compile(r"(\d{1,9})([.)])")


def markdown_text(text: str) -> str:
    """``text`` escaped so that Markdown shows it as written, on one line.

    CommonMark lets a backslash escape any ASCII punctuation. Besides the characters that
    mean something anywhere, the first character is escaped when it is punctuation (a list
    item, quote, thematic break or heading would start there), and so is the '.' or ')' of
    a leading number (an ordered list).
    """
    escaped = "".join(f"\\{char}" if char in _MARKDOWN_INLINE else char for char in text)
    if text[:1] in string.punctuation and text[:1] not in _MARKDOWN_INLINE:
        return "\\" + escaped
    if match := _ORDERED_LIST_START.match(escaped):
        return f"{match[1]}\\{match[2]}{escaped[match.end() :]}"
    return escaped
