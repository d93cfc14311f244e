"""Deterministic English and German wording of a result, for the sandbox and empty interviews."""

from typing import Literal

from mga_events.schemas import InterviewFinished
from mga_scoring.rubric import SKILLS
from mga_scoring.scored import PanelRemark, ScoredInterview, SkillScore
from mga_scoring.transcript import questions_asked

Language = Literal["en", "de"]

SKILL_NAMES: dict[Language, dict[str, str]] = {
    "en": {
        "communication": "communication",
        "structured_thinking": "structured thinking",
        "problem_solving": "problem solving",
        "leadership": "leadership",
        "domain_depth": "domain depth",
        "composite_and_pressure": "composure under pressure",
    },
    "de": {
        "communication": "Kommunikation",
        "structured_thinking": "strukturiertes Denken",
        "problem_solving": "Problemlösung",
        "leadership": "Führung",
        "domain_depth": "Fachtiefe",
        "composite_and_pressure": "Souveränität unter Druck",
    },
}

STRENGTH: dict[Language, str] = {
    "en": "Strong {skill}, shown consistently across the answers",
    "de": "Überzeugende {skill}, durchgehend in den Antworten gezeigt",
}
IMPROVEMENT: dict[Language, str] = {
    "en": "Show more {skill}: give concrete examples and name the outcome",
    "de": "Mehr {skill} zeigen: konkrete Beispiele nennen und das Ergebnis benennen",
}
REMARK: dict[Language, str] = {
    "en": "From my focus on {focus}: {skill} scored {score} of 10.",
    "de": "Aus Sicht meines Schwerpunkts {focus}: {skill} mit {score} von 10 bewertet.",
}
SUMMARY: dict[Language, str] = {
    "en": "{name} answered {answers} of {questions} questions; strongest in {best}, "
    "with most room to grow in {weakest}.",
    "de": "{name} hat {answers} von {questions} Fragen beantwortet; am stärksten in {best}, "
    "mit dem größten Entwicklungspotenzial in {weakest}.",
}
SILENT_SUMMARY: dict[Language, str] = {
    "en": "{name} did not answer any question, so no skill could be observed.",
    "de": "{name} hat keine Frage beantwortet, daher ließ sich keine Kompetenz beobachten.",
}
NO_ANSWER: dict[Language, str] = {
    "en": "The candidate gave no answer.",
    "de": "Keine Antwort der Kandidatin oder des Kandidaten.",
}
SILENT_IMPROVEMENT: dict[Language, str] = {
    "en": "Answer the panel's questions so that your skills can be assessed",
    "de": "Die Fragen des Panels beantworten, damit sich Ihre Kompetenzen bewerten lassen",
}


def _lower_first(text: str) -> str:
    """Lower-case a leading capital inside a sentence, but keep acronyms such as "API"."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _ranked(skills: dict[str, SkillScore]) -> list[str]:
    """Skills from best to weakest; ties keep the rubric's order."""
    return sorted(SKILLS, key=lambda skill: (-skills[skill].score, SKILLS.index(skill)))


def describe(finished: InterviewFinished, skills: dict[str, SkillScore]) -> ScoredInterview:
    """Word strengths, improvements, remarks and summary for measured skill scores."""
    language: Language = finished.language
    names = SKILL_NAMES[language]
    answers = sum(
        turn.speaker == "candidate" and bool(turn.text.strip()) for turn in finished.transcript
    )
    questions = questions_asked(finished)
    ranked = _ranked(skills)

    if answers == 0:
        skills = {skill: SkillScore(score=1, evidence=NO_ANSWER[language]) for skill in SKILLS}
        strengths: list[str] = []
        improvements = [SILENT_IMPROVEMENT[language]]
        summary = SILENT_SUMMARY[language].format(name=finished.candidate_name)
    else:
        strengths = [STRENGTH[language].format(skill=names[skill]) for skill in ranked[:2]]
        improvements = [IMPROVEMENT[language].format(skill=names[skill]) for skill in ranked[-2:]]
        summary = SUMMARY[language].format(
            name=finished.candidate_name,
            answers=answers,
            questions=questions,
            best=names[ranked[0]],
            weakest=names[ranked[-1]],
        )

    remarks = [
        PanelRemark(
            name=panelist.name,
            role=panelist.role,
            remark=REMARK[language].format(
                focus=_lower_first(panelist.focus) if language == "en" else panelist.focus,
                skill=names[SKILLS[index % len(SKILLS)]],
                score=skills[SKILLS[index % len(SKILLS)]].score,
            ),
        )
        for index, panelist in enumerate(finished.panel)
    ]
    return ScoredInterview(
        skills=skills,
        strengths=strengths,
        improvements=improvements,
        remarks=remarks,
        summary=summary,
    )
