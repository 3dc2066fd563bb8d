"""The `edm_client` logger. `EDM_LOG=debug` (or `info`) prints its lines to stderr.

Log lines carry method, URL, status, attempt, request id and timing; never headers, so the
token cannot reach a log.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("edm_client")


def _configure_from_env() -> None:
    level = os.environ.get("EDM_LOG", "").strip().upper()
    if level not in ("DEBUG", "INFO"):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


_configure_from_env()
