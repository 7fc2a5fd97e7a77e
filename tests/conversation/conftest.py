"""Conversation tests: the shared harness (tests/harness.py) as a fixture."""

from __future__ import annotations

import pytest

from tests.harness import start_chat


@pytest.fixture
def chat():
    return start_chat
