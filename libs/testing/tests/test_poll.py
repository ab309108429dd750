"""poll: returns as soon as the condition holds, fails the test when the deadline passes."""

from __future__ import annotations

import asyncio

import pytest

from casebridge.testing.poll import poll


async def test_poll_returns_once_the_condition_holds() -> None:
    calls = 0

    async def third_time() -> bool:
        nonlocal calls
        calls += 1
        return calls == 3

    await poll(third_time, timeout=5, interval=0.01)
    assert calls == 3


async def test_poll_accepts_a_plain_function() -> None:
    flag = asyncio.Event()
    asyncio.get_running_loop().call_soon(flag.set)
    await poll(flag.is_set, timeout=5, interval=0.01)


async def test_poll_fails_after_the_deadline_naming_the_condition() -> None:
    def never() -> bool:
        return False

    started = asyncio.get_running_loop().time()
    with pytest.raises(AssertionError, match=r"never not met within 0\.2s"):
        await poll(never, timeout=0.2, interval=0.05)
    assert 0.2 <= asyncio.get_running_loop().time() - started < 2


async def test_poll_lets_the_condition_fail_the_test() -> None:
    def broken() -> bool:
        raise RuntimeError("the process under test died")

    with pytest.raises(RuntimeError, match="died"):
        await poll(broken, timeout=5)
