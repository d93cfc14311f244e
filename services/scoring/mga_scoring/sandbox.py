"""The deterministic sandbox scorer: the same transcript always gives the same result.

It measures plain features of the candidate's answers (length, structure words, numbers,
words shared with the job posting, leadership and problem-solving vocabulary) and maps each
onto 1-10. Test-mode integrators can pin the outcome with a tag in the candidate's email
address: ``+high``, ``+medium`` or ``+low`` before the ``@`` (``alex+high@example.com``)
select the fixed skill scores of ``PINNED_SKILLS``.
"""

import re

from mga_events.schemas import InterviewFinished
from mga_scoring.injection import addresses_scorer
from mga_scoring.rubric import SKILLS
from mga_scoring.scored import ScoredInterview, SkillScore
from mga_scoring.texts import describe
from mga_scoring.transcript import candidate_answers, questions_asked, sentences, words

PINNED_SKILLS: dict[str, dict[str, int]] = {
    "high": dict(zip(SKILLS, (9, 9, 9, 8, 9, 8), strict=True)),
    "medium": dict(zip(SKILLS, (6, 6, 6, 5, 6, 5), strict=True)),
    "low": dict(zip(SKILLS, (2, 2, 2, 2, 2, 1), strict=True)),
}
_TAG = re.compile(r"\+(high|medium|low)@", re.IGNORECASE)

_MARKERS: dict[str, frozenset[str]] = {
    "structured_thinking": frozenset(
        "first second third finally then because therefore so overall framework "
        "erstens zweitens drittens schließlich dann weil deshalb daher insgesamt".split()
    ),
    "problem_solving": frozenset(
        "problem solution solve solved tradeoff trade root cause hypothesis tested measured "
        "experiment data metric metrics lösung gelöst ursache hypothese getestet gemessen daten".split()
    ),
    "leadership": frozenset(
        "led lead team mentor mentored stakeholders stakeholder aligned decided owned ownership "
        "hired coached leitete team verantwortung entschieden mentor geführt".split()
    ),
}
_NUMBER = re.compile(r"\d")


def _scale(value: float, full: float) -> int:
    """Map 0..full onto 1..10, saturating above ``full``."""
    return 1 + round(9 * min(max(value, 0.0), full) / full)


def _pinned(finished: InterviewFinished) -> dict[str, int] | None:
    match = _TAG.search(finished.candidate_email or "")
    return PINNED_SKILLS[match.group(1).lower()] if match else None


def _best_sentence(candidates: list[str], vocabulary: frozenset[str], used: set[str]) -> str:
    """Pick the sentence with most words of ``vocabulary``, preferring one not used yet."""
    ranked = sorted(
        enumerate(candidates),
        key=lambda item: (
            item[1] in used,
            -sum(word in vocabulary for word in words(item[1])),
            -len(item[1]),
            item[0],
        ),
    )
    chosen = ranked[0][1]
    used.add(chosen)
    return chosen[:300]


def score_in_sandbox(finished: InterviewFinished) -> ScoredInterview:
    answers = [
        " ".join(sentence for sentence in sentences(answer) if not addresses_scorer(sentence))
        for answer in candidate_answers(finished.transcript)
    ]
    answers = [answer for answer in answers if answer]
    candidate_sentences = [sentence for answer in answers for sentence in sentences(answer)]
    answer_words = [words(answer) for answer in answers]
    all_words = [word for answer in answer_words for word in answer]
    questions = questions_asked(finished)

    def marker_count(skill: str) -> int:
        return sum(word in _MARKERS[skill] for word in all_words)

    posting_terms = {word for word in words(finished.job_posting) if len(word) >= 5}
    average_length = len(all_words) / len(answers) if answers else 0.0
    substantive = sum(len(answer) >= 15 for answer in answer_words)

    measured = {
        "communication": _scale(average_length, 70),
        "structured_thinking": _scale(marker_count("structured_thinking"), 8),
        "problem_solving": _scale(
            marker_count("problem_solving") + len(_NUMBER.findall(" ".join(answers))) / 2, 8
        ),
        "leadership": _scale(marker_count("leadership"), 6),
        "domain_depth": _scale(len(posting_terms & set(all_words)), 10),
        "composite_and_pressure": _scale(substantive, max(1, questions)),
    }
    skill_scores = _pinned(finished) or measured

    evidence_vocabulary = {
        **_MARKERS,
        "communication": frozenset(),
        "domain_depth": frozenset(posting_terms),
        "composite_and_pressure": frozenset(),
    }
    used: set[str] = set()
    skills = {
        skill: SkillScore(
            score=skill_scores[skill],
            evidence=_best_sentence(candidate_sentences, evidence_vocabulary[skill], used)
            if candidate_sentences
            else "",
        )
        for skill in SKILLS
    }
    return describe(finished, skills)
