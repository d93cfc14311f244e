"""Assemble the public result from a scored interview."""

from datetime import datetime

from mga_events import schemas
from mga_events.schemas import InterviewFinished, InterviewResult
from mga_scoring.rubric import SKILLS, overall_score
from mga_scoring.scored import ScoredInterview


def build_result(
    finished: InterviewFinished, scored: ScoredInterview, *, completed_at: datetime
) -> InterviewResult:
    skills = {
        skill: schemas.SkillAssessment(
            score=scored.skills[skill].score, evidence=scored.skills[skill].evidence
        )
        for skill in SKILLS
    }
    return InterviewResult(
        id=finished.invitation_id,
        candidate_name=finished.candidate_name,
        role=finished.role,
        completed_at=completed_at,
        overall_score=overall_score({skill: scored.skills[skill].score for skill in SKILLS}),
        summary=scored.summary,
        skills=schemas.Skills(**skills),
        strengths=scored.strengths,
        improvements=scored.improvements,
        panel=[
            schemas.PanelRemark(name=remark.name, role=remark.role, remark=remark.remark)
            for remark in scored.remarks
        ],
        transcript=finished.transcript,
        metadata=finished.metadata,
    )
