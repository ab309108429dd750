"""Per-area configuration: risk matrix, repeat-victim rule, duplicate window, back-dating
limit (YAML)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PATH = Path(__file__).with_name("default.yaml")
BANDS = ("standard", "medium", "high")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")
    text: str = Field(min_length=1, max_length=500)
    options: dict[str, int] = Field(min_length=2)
    # Answers that indicate a vulnerable victim, with the reason recorded on their log.
    vulnerability: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _points(self) -> Question:
        if any(points < 0 for points in self.options.values()):
            raise ValueError("option points must not be negative")
        unknown = sorted(set(self.vulnerability) - set(self.options))
        if unknown:
            raise ValueError(f"vulnerability names answers that are not options: {unknown}")
        if any(not 1 <= len(reason) <= 200 for reason in self.vulnerability.values()):
            raise ValueError("a vulnerability reason is 1 to 200 characters")
        return self


class Bands(_Strict):
    medium: int = Field(ge=1)
    high: int = Field(ge=1)


class NextSteps(_Strict):
    """What the area's procedure does next for each band: told to the handler at the call."""

    standard: str = Field(default="recorded; the receiving agency follows it up", max_length=300)
    medium: str = Field(
        default="a case officer reviews the case and contacts the victim", max_length=300
    )
    high: str = Field(
        default="referred to the victim support officer; partners alerted", max_length=300
    )

    def for_band(self, band: str) -> str:
        return str(getattr(self, band))


class RiskMatrix(_Strict):
    bands: Bands
    questions: list[Question] = Field(min_length=1, max_length=100)
    next_steps: NextSteps = NextSteps()

    @model_validator(mode="after")
    def _coherent(self) -> RiskMatrix:
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"question ids must be unique: {sorted(ids)}")
        if self.bands.medium >= self.bands.high:
            raise ValueError("bands.medium must be below bands.high")
        if self.max_score() < self.bands.high:
            raise ValueError(f"bands.high ({self.bands.high}) is above the top score")
        return self

    def max_score(self) -> int:
        return sum(max(q.options.values()) for q in self.questions)

    def band(self, score: int) -> str:
        if score >= self.bands.high:
            return "high"
        return "medium" if score >= self.bands.medium else "standard"

    def vulnerability_reasons(self, answers: dict[str, str]) -> list[str]:
        """The reasons the answers give to record the victim as vulnerable (none: not)."""
        reasons = {
            q.vulnerability[answers[q.id]]
            for q in self.questions
            if answers.get(q.id) in q.vulnerability
        }
        return sorted(reasons)


class RepeatVictimRule(_Strict):
    complaints: int = Field(ge=2, le=50)
    months: int = Field(ge=1, le=24)


class DuplicateRule(_Strict):
    window_hours: int = Field(ge=1, le=24 * 90)


class BackdatingRule(_Strict):
    """How many days back a call handler may date a report (with a reason)."""

    max_days: int = Field(default=14, ge=0, le=90)


class AreaConfig(_Strict):
    version: str = Field(min_length=1, max_length=60)
    risk: RiskMatrix
    repeat_victim: RepeatVictimRule
    duplicates: DuplicateRule
    backdating: BackdatingRule = BackdatingRule()


class AreaConfigError(Exception):
    """A configuration file that does not validate; the message names file and field."""


def load(path: Path) -> AreaConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return AreaConfig.model_validate(raw)
    except OSError as exc:
        raise AreaConfigError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise AreaConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise AreaConfigError(f"{path}: {problems}") from exc


class AreaConfigs:
    """The default plus each area's own file (`<dir>/<AREA CODE>.yaml`), all validated at
    load so a broken file stops the service at start-up instead of at the first call."""

    def __init__(self, directory: Path | None) -> None:
        self.default = load(DEFAULT_PATH)
        self.by_area: dict[str, AreaConfig] = {}
        if directory is not None and directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                self.by_area[path.stem.upper()] = load(path)

    def for_area(self, area_code: str) -> AreaConfig:
        return self.by_area.get(area_code.upper(), self.default)
