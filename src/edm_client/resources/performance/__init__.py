"""The `performance` namespace: `client.performance.<resource>`."""

from __future__ import annotations

from edm_client._resource import AsyncNamespace, Namespace
from edm_client.resources.performance.learning_records import AsyncLearningRecords, LearningRecords

__all__ = ["AsyncPerformance", "Performance"]


class Performance(Namespace):
    """Performance resources. Reach it as `client.performance`."""

    _namespace = "performance"

    @property
    def learning_records(self) -> LearningRecords:
        """Learning records: completions of courses, certifications and assessments."""
        return self._resource(LearningRecords)


class AsyncPerformance(AsyncNamespace):
    """Performance resources. Reach it as `client.performance`."""

    _namespace = "performance"

    @property
    def learning_records(self) -> AsyncLearningRecords:
        """Learning records: completions of courses, certifications and assessments."""
        return self._resource(AsyncLearningRecords)
