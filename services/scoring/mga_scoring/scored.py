"""A scored interview before it becomes the public result."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SkillScore:
    score: int
    evidence: str


@dataclass(frozen=True)
class PanelRemark:
    name: str
    role: str
    remark: str


@dataclass(frozen=True)
class ScoredInterview:
    skills: dict[str, SkillScore]
    strengths: list[str]
    improvements: list[str]
    remarks: list[PanelRemark]
    summary: str
