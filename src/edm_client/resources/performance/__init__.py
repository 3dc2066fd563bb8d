"""The `performance` namespace: `client.performance.<resource>`."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from edm_client.resources.performance.learning_records import AsyncLearningRecords, LearningRecords

if TYPE_CHECKING:
    from edm_client._base_client import AsyncAPIClient, SyncAPIClient

__all__ = ["AsyncPerformance", "Performance"]


class Performance:
    """Performance resources. Reach it as `client.performance`."""

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    @cached_property
    def learning_records(self) -> LearningRecords:
        return LearningRecords(self._client)


class AsyncPerformance:
    """Performance resources. Reach it as `client.performance`."""

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    @cached_property
    def learning_records(self) -> AsyncLearningRecords:
        return AsyncLearningRecords(self._client)
