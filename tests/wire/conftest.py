"""Fixtures for the wire tests: each provider's loopback fake (``<provider>/fixtures.py``,
picked up here, so a provider's directory brings its own). What the tests share besides
fixtures is in support.py and tests/helpers.py.

Each fixture starts a server on 127.0.0.1 (random port) for one test and stops it when the
test ends. Nothing leaves the machine and no API key is needed.
"""

from __future__ import annotations

from .support import PROVIDER_FIXTURES

for _module in PROVIDER_FIXTURES.values():  # pytest finds a conftest's fixtures among its names
    globals().update({name: getattr(_module, name) for name in _module.__all__})
