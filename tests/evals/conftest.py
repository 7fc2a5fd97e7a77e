"""Live evals: a real model decides. Skipped unless a provider's key is set.

    OPENAI_API_KEY=... python -m pytest tests/evals -m live
    GOOGLE_API_KEY=... python -m pytest tests/evals -m live
"""

from __future__ import annotations

import os

import pytest

LIVE_PROVIDERS = [p for p, key in (("openai", "OPENAI_API_KEY"), ("google", "GOOGLE_API_KEY")) if os.environ.get(key)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "evals" in item.nodeid:
            item.add_marker(pytest.mark.live)


@pytest.fixture(params=LIVE_PROVIDERS or [pytest.param(None, marks=pytest.mark.skip(reason="no OPENAI_API_KEY or GOOGLE_API_KEY"))])
def provider_name(request: pytest.FixtureRequest) -> str:
    return request.param
