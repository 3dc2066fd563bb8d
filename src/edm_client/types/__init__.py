"""The API's objects as typed, immutable Pydantic models."""

from edm_client.types.learning_record import LearningRecord, SourceType

__all__ = ["LearningRecord", "SourceType"]
