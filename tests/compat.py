"""asyncio.timeout arrived in Python 3.11; aiohttp brings async-timeout for 3.10."""

import sys

if sys.version_info >= (3, 11):
    from asyncio import timeout
else:  # pragma: no cover
    from async_timeout import timeout

__all__ = ["timeout"]
