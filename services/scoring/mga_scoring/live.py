"""The live scorer: a language model scores skills, the result is checked afterwards."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mga_events.schemas import InterviewFinished
from mga_llm import JsonModel, OutputRejected
from mga_scoring.prompts import SYSTEM_PROMPT, user_prompt
from mga_scoring.rubric import SKILLS
from mga_scoring.scored import PanelRemark, ScoredInterview, SkillScore
from mga_scoring.texts import describe
from mga_scoring.transcript import candidate_answers, is_drawn_from


class _Output(BaseModel):
    # Keys the model adds on its own, such as an overallScore, are dropped unread.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class SkillOutput(_Output):
    score: int = Field(ge=1, le=10)
    evidence: str = Field(min_length=1, max_length=600)


class SkillsOutput(_Output):
    communication: SkillOutput
    structured_thinking: SkillOutput
    problem_solving: SkillOutput
    leadership: SkillOutput
    domain_depth: SkillOutput
    composite_and_pressure: SkillOutput


class RemarkOutput(_Output):
    name: str = Field(min_length=1)
    remark: str = Field(min_length=1, max_length=600)


class ScoringOutput(_Output):
    skills: SkillsOutput
    strengths: list[str] = Field(min_length=1, max_length=5)
    improvements: list[str] = Field(min_length=1, max_length=5)
    panel_remarks: list[RemarkOutput]
    summary: str = Field(min_length=1, max_length=1000)


def _checker(finished: InterviewFinished):  # type: ignore[no-untyped-def]
    answers = candidate_answers(finished.transcript)
    panel_names = sorted(member.name for member in finished.panel)

    def check(output: ScoringOutput) -> None:
        for skill in SKILLS:
            evidence = getattr(output.skills, skill).evidence
            if not is_drawn_from(evidence, answers):
                raise OutputRejected("evidence", f"{skill} evidence is not drawn from the answers")
        if sorted(remark.name for remark in output.panel_remarks) != panel_names:
            raise OutputRejected("panel", "remarks must come from each panelist exactly once")

    return check


async def score_live(finished: InterviewFinished, model: JsonModel) -> ScoredInterview:
    """Score with the language model; an interview without answers needs no model."""
    if not candidate_answers(finished.transcript):
        return describe(finished, {skill: SkillScore(1, "") for skill in SKILLS})

    output = await model.complete_json(
        purpose="scoring",
        system=SYSTEM_PROMPT,
        user=user_prompt(finished),
        output=ScoringOutput,
        check=_checker(finished),
    )
    roles = {member.name: member.role for member in finished.panel}
    return ScoredInterview(
        skills={
            skill: SkillScore(
                score=getattr(output.skills, skill).score,
                evidence=getattr(output.skills, skill).evidence,
            )
            for skill in SKILLS
        },
        strengths=output.strengths,
        improvements=output.improvements,
        remarks=[
            PanelRemark(name=remark.name, role=roles[remark.name], remark=remark.remark)
            for remark in sorted(output.panel_remarks, key=lambda r: list(roles).index(r.name))
        ],
        summary=output.summary,
    )
