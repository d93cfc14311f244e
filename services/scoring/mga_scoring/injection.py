"""Sentences in which a candidate addresses the scorer instead of the interviewers.

The sandbox scorer leaves them out before it measures anything, so asking for full marks
changes nothing. The live scorer does not rely on this list: there the candidate's words sit
in a delimited data section and the result is checked after generation.
"""

import re

_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules?|rubric)\b",
    r"\b(full|maximum|max|perfect|top|highest)\s+(marks?|scores?|points?|rating)\b",
    r"\b(score|rate|grade|mark|evaluate)\s+(me|this|my answers?|the candidate)\b.{0,30}\b(10|100|highest|perfect|top)\b",
    r"\b(10\s*/\s*10|100\s*/\s*100|100\s*(points|%|percent))\b",
    r"\bsystem\s+prompt\b",
    r"\byou\s+are\s+(now\s+)?(an?|the)\s+(ai|assistant|scorer|grader|language model)\b",
    r"\b(ignoriere|vergiss)\b.{0,40}\b(anweisungen?|regeln|vorgaben)\b",
    r"\b(volle|maximale|höchste)\s+(punktzahl|punkte|bewertung)\b",
    r"\bbewerte(n sie)?\s+mich\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{pattern})" for pattern in _PATTERNS), re.IGNORECASE)


def addresses_scorer(sentence: str) -> bool:
    return _INSTRUCTION.search(sentence) is not None
