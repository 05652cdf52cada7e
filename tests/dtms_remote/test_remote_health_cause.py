"""The server's health as the remote strategy keeps it names the cause of the latest
failed try: a server that refused this host's token and then stopped answering is "not
answering", not "refusing this host" for the rest of the episode (the entry veto and the
run's note read it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from dtms_plugin.remote_health import ServerHealth


def test_the_cause_is_the_latest_tries() -> None:
    health = ServerHealth("http://127.0.0.1:1", logging.getLogger("t"), lambda: datetime.now(UTC))
    health.failed("GET /dtms/status answered 401: invalid token", refused=True)
    assert health.refused is not None and "401" in health.refused
    health.failed("outbox entries kept")  # no cause said: the refusal stands
    assert health.refused is not None
    health.failed("connection refused", unanswered=True)
    assert health.refused is None and health.down
    health.failed("GET /dtms/status answered 403: forbidden", refused=True)
    assert health.refused is not None and "403" in health.refused
    health.answered()
    assert health.refused is None and not health.down
