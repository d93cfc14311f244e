"""Checks for text that reaches email headers, pages and prompts.

Control characters, line and paragraph separators, bidirectional overrides and lone
surrogates are rejected, not stripped: a name with a line break is a header-injection
attempt or a bug in the caller, and silently changing it would hide both.
"""

import unicodedata

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def forbidden_character(value: str, *, allow_newlines: bool = False) -> str | None:
    """Return a description of the first disallowed character in ``value``, or None."""
    for position, char in enumerate(value):
        if allow_newlines and char in "\n\t":
            continue
        if char == "\r" and allow_newlines and value[position + 1 : position + 2] == "\n":
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return f"U+{ord(char):04X} at position {position}"
    return None


def single_line(value: str, *, max_length: int) -> str:
    """Validate a one-line text: no control characters, not blank, at most ``max_length``."""
    problem = forbidden_character(value)
    if problem is not None:
        raise ValueError(f"must be a single line without control characters; found {problem}")
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty or only whitespace")
    if len(stripped) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return stripped


def multi_line(value: str, *, max_length: int) -> str:
    """Validate a text that may have line breaks and tabs but no other control characters."""
    problem = forbidden_character(value, allow_newlines=True)
    if problem is not None:
        raise ValueError(f"must not contain control characters; found {problem}")
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty or only whitespace")
    if len(stripped) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return stripped
