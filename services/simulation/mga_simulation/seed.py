"""The invitation fields that shape an interview, and the deterministic choices of the sandbox.

The sandbox derives every choice from SHA-256 of the invitation's role, job posting,
toughness, language and candidate name, plus a label per choice. Unlike ``random.Random``,
the result cannot change with the Python version, so the same invitation input always gives
the same panel and questions.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from mga_events.schemas import Language
from mga_simulation.prompts import InterviewBrief

Item = TypeVar("Item")


@dataclass(frozen=True)
class InvitationFacts:
    candidate_name: str
    role: str
    job_posting: str
    toughness: int
    language: Language
    duration_minutes: int

    @property
    def brief(self) -> InterviewBrief:
        return InterviewBrief(
            role=self.role,
            job_posting=self.job_posting,
            toughness=self.toughness,
            language=self.language,
        )


class Seed:
    """Deterministic choices derived from a fixed list of values."""

    def __init__(self, *values: object) -> None:
        encoded = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
        self._digest = hashlib.sha256(encoded).digest()

    @classmethod
    def of_invitation(cls, facts: InvitationFacts) -> "Seed":
        return cls(
            facts.role, facts.job_posting, facts.toughness, facts.language, facts.candidate_name
        )

    def number(self, label: str) -> int:
        """Return a 64-bit number that depends only on the seed values and ``label``."""
        digest = hashlib.sha256(self._digest + label.encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def pick(self, label: str, options: Sequence[Item]) -> Item:
        return options[self.number(label) % len(options)]

    def shuffled(self, label: str, options: Sequence[Item]) -> list[Item]:
        """Return ``options`` in an order that depends only on the seed values and ``label``."""
        keyed = sorted(
            range(len(options)), key=lambda index: self.number(f"{label}:{index}")
        )
        return [options[index] for index in keyed]
