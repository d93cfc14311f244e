"""Pull one JSON object out of a model's reply.

Models wrap JSON in Markdown fences or put a sentence before it ("Sure! {...}"). The first
complete object is taken as it is, so strings keep their backticks, umlauts and quotes. A
reply without a complete object is an error, never a guess.
"""

import json
import re
from typing import Any

# Only the opening fence is matched: the JSON decoder finds where the object ends, so
# backticks inside its strings cannot cut it short.
_FENCE_OPENING = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n")


class InvalidJsonOutput(ValueError):
    """A reply that contains no complete JSON object."""


def extract_json_object(text: str) -> dict[str, Any]:
    candidates = [text[match.end() :] for match in _FENCE_OPENING.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    raise InvalidJsonOutput("the reply contains no complete JSON object")
