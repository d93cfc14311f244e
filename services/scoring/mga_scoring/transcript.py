"""Reading a transcript: the candidate's words, sentences and the text evidence may quote."""

import re
import unicodedata

from mga_events.schemas import FinishReason, InterviewFinished, TranscriptTurn

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


def candidate_answers(transcript: list[TranscriptTurn]) -> list[str]:
    return [turn.text.strip() for turn in transcript if turn.speaker == "candidate" and turn.text.strip()]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def is_drawn_from(evidence: str, answers: list[str]) -> bool:
    """Tell whether ``evidence`` quotes or closely paraphrases the candidate's answers.

    Evidence counts as drawn from the answers when it contains four consecutive words of
    them, or when at least 60 % of its words of three letters or more occur in them.
    """
    answer_words = [words(answer) for answer in answers]
    vocabulary = {word for answer in answer_words for word in answer}
    evidence_words = words(evidence)
    if not evidence_words or not vocabulary:
        return False

    runs = {
        tuple(answer[i : i + 4]) for answer in answer_words for i in range(len(answer) - 3)
    }
    if any(tuple(evidence_words[i : i + 4]) in runs for i in range(len(evidence_words) - 3)):
        return True

    content = [word for word in evidence_words if len(word) >= 3]
    if not content:
        return False
    return sum(word in vocabulary for word in content) / len(content) >= 0.6


def questions_asked(finished: InterviewFinished) -> int:
    """Count the panel's questions; the closing line after the last question is not one."""
    turns = finished.transcript
    asked = sum(turn.speaker == "interviewer" for turn in turns)
    ended_with_closing = (
        finished.reason is FinishReason.QUESTIONS_EXHAUSTED
        and bool(turns)
        and turns[-1].speaker == "interviewer"
    )
    return max(0, asked - 1) if ended_with_closing else asked
