"""What an exported student carries with it, so the edge needs nothing else to run it.

Stored as one JSON string under the ONNX metadata property `vigil` (see
https://onnx.ai/onnx/repo-docs/MetadataProps.html); the edge reads it back through
onnxruntime's `custom_metadata_map`, so labels and preprocessing exist in one place.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.labels import LabelSet, Severity
from shared.messages import Label, UtcDatetime, Version, utc_now
from shared.preprocess import InputSpec

METADATA_KEY = "vigil"
FORMAT_VERSION = 1


class ModelMetadataError(ValueError):
    """A model's metadata is missing or does not describe a model Vigil can run."""


class ModelMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = Field(FORMAT_VERSION, description="version of this metadata layout")
    model_version: Version
    teacher_version: Version | None = None
    architecture: Annotated[str, StringConstraints(max_length=64)] = "student"
    labels: Annotated[list[Label], Field(min_length=2, max_length=256)]
    fall_labels: list[Label] = Field(default_factory=list)
    severities: dict[Label, Severity] = Field(default_factory=dict)
    input: InputSpec
    metrics: dict[str, float] = Field(default_factory=dict)
    created_at: UtcDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _labels_consistent(self) -> ModelMetadata:
        LabelSet(
            names=tuple(self.labels),
            falls=frozenset(self.fall_labels),
            severities=self.severities,
        )
        return self

    @classmethod
    def for_labels(cls, label_set: LabelSet, **fields: object) -> ModelMetadata:
        return cls.model_validate(
            {
                "labels": list(label_set.names),
                "fall_labels": sorted(label_set.falls),
                "severities": {n: label_set.severity(n) for n in label_set.names},
                **fields,
            }
        )

    @property
    def label_set(self) -> LabelSet:
        return LabelSet(
            names=tuple(self.labels), falls=frozenset(self.fall_labels), severities=self.severities
        )

    def to_properties(self) -> dict[str, str]:
        return {METADATA_KEY: self.model_dump_json()}

    @classmethod
    def from_properties(cls, props: dict[str, str]) -> ModelMetadata:
        raw = props.get(METADATA_KEY)
        if raw is None:
            raise ModelMetadataError(f"model has no '{METADATA_KEY}' metadata property")
        try:
            meta = cls.model_validate_json(raw)
        except ValueError as exc:
            raise ModelMetadataError(f"model metadata is invalid: {exc}") from exc
        if meta.format_version != FORMAT_VERSION:
            raise ModelMetadataError(f"unsupported metadata format {meta.format_version}")
        return meta
