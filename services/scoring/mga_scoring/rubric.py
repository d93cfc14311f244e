"""How skill scores become the overall score, and the result's fixed vocabulary.

Each of the six skills is scored 1 to 10. The overall score is their weighted mean, mapped
linearly from the 1-10 scale onto 0-100 and rounded half up:

    overall = round(100 * sum(weight[s] * (score[s] - 1) / 9))

with the weights below (they add up to 1). Six 1s give 0, six 10s give 100, and six 7s give
67. The language model never sets the overall score itself; it only scores skills, so a
candidate cannot talk the model into a number.
"""

from decimal import ROUND_HALF_UP, Decimal

SKILL_WEIGHTS: dict[str, Decimal] = {
    "communication": Decimal("0.20"),
    "structured_thinking": Decimal("0.20"),
    "problem_solving": Decimal("0.20"),
    "leadership": Decimal("0.10"),
    "domain_depth": Decimal("0.20"),
    "composite_and_pressure": Decimal("0.10"),
}
SKILLS = tuple(SKILL_WEIGHTS)


def overall_score(skill_scores: dict[str, int]) -> int:
    """Return the 0-100 overall score for six 1-10 skill scores."""
    missing = set(SKILLS) - set(skill_scores)
    if missing:
        raise ValueError(f"missing skill scores: {', '.join(sorted(missing))}")
    weighted = sum(
        SKILL_WEIGHTS[skill] * (Decimal(skill_scores[skill]) - 1) / 9 for skill in SKILLS
    )
    return int((weighted * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
