"""Helpers of the TUI tests: read the screen as a user would, wait for a condition."""

from __future__ import annotations


def screen_text(app: object) -> str:
    """The characters on the app's screen, one line per row (what a user reads)."""
    compositor = app.screen._compositor  # type: ignore[attr-defined]
    return "\n".join(strip.text for strip in compositor.render_strips())


async def wait_for(pilot: object, predicate: object, timeout: float = 10.0) -> None:
    """Let the app run until ``predicate()`` holds; fail with the screen if it never does."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met; screen was:\n" + screen_text(pilot.app))  # type: ignore[attr-defined]
        await pilot.pause(0.05)  # type: ignore[attr-defined]
