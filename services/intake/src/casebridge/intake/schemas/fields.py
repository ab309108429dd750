"""Field types shared by intake's request models: bounded, validated, normalised."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from casebridge.intake import normalise

Postcode = Annotated[
    str,
    Field(min_length=5, max_length=10, examples=["SW1A 1AA"]),
    AfterValidator(normalise.postcode),
]
ShortName = Annotated[str, Field(min_length=1, max_length=200)]
Address = Annotated[str, Field(min_length=1, max_length=300)]
Uprn = Annotated[int, Field(ge=1, le=999_999_999_999, description="Unique Property Reference")]
Latitude = Annotated[float, Field(ge=49.8, le=60.95, description="WGS84, within the UK")]
Longitude = Annotated[float, Field(ge=-8.7, le=1.8, description="WGS84, within the UK")]
