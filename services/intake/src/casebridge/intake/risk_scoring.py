"""Scoring risk answers against the area's versioned matrix."""

from __future__ import annotations

from casebridge.intake.config import RiskMatrix
from casebridge.intake.errors import InvalidAnswers

__all__ = ["score_answers"]


def score_answers(
    matrix: RiskMatrix, answers: dict[str, str], *, field: str = "body.answers"
) -> int:
    """Every question answered with one of its options, or a 422 naming each one wrong
    (`field` is where the answers are in the request)."""
    problems = []
    questions = {q.id: q for q in matrix.questions}
    for key in answers:
        if key not in questions:
            problems.append({"field": f"{field}.{key}", "reason": "is not a question"})
    score = 0
    for question in matrix.questions:
        answer = answers.get(question.id)
        if answer is None:
            problems.append({"field": f"{field}.{question.id}", "reason": "is required"})
        elif answer not in question.options:
            allowed = ", ".join(question.options)
            problems.append(
                {"field": f"{field}.{question.id}", "reason": f"must be one of: {allowed}"}
            )
        else:
            score += question.options[answer]
    if problems:
        raise InvalidAnswers(problems)
    return score
