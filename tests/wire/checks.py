"""What every fake's fixture does at teardown: fail the test on what the fake recorded."""

from __future__ import annotations

from typing import Any

import pytest


def fail_on_schema_violations(server: Any) -> None:
    """Fail the test when ``server`` recorded messages that do not match the provider's own
    schema (the OpenAI fakes check every message against the ``openai`` SDK's types)."""
    failures = getattr(server, "failures", None)
    if failures:
        pytest.fail(f"{type(server).__name__} failed:\n" + "\n".join(failures), pytrace=False)
    if server.schema_violations:
        pytest.fail(
            f"{type(server).__name__} recorded {len(server.schema_violations)} schema "
            f"violation(s):\n{server.schema_report()}",
            pytrace=False,
        )
