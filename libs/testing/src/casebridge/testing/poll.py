"""Wait for a condition with a deadline: the one way tests wait (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

Condition = Callable[[], Awaitable[bool]] | Callable[[], bool]


async def poll(
    until: Condition, timeout: float = 30.0, *, interval: float = 0.1, what: str = ""
) -> None:
    """Return as soon as `until()` is true; fail the test if it is still false after `timeout`
    seconds. `until` may be a plain or an async function; an exception it raises propagates."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = until()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() >= deadline:
            name = what or getattr(until, "__name__", "condition")
            raise AssertionError(f"{name} not met within {timeout:g}s")
        await asyncio.sleep(interval)
