"""Proxies for a provider's streaming response: the application iterates the stream as
before (``isinstance`` still holds, every attribute passes through), and the llm span
ends when the stream is consumed, closed, or fails.

A stream the application drops without consuming or closing ends its span when the proxy
is garbage-collected, so no span is lost for good.
"""

from __future__ import annotations

from typing import Any

import wrapt

from agenttrace.instrumentation._support import count_error, end_span

__all__ = ["AsyncStreamProxy", "StreamProxy"]


class _Tap:
    """What a proxy tells about the stream: each item, then the end (once)."""

    def __init__(self, span: Any, observe: Any, finish: Any) -> None:
        self.span = span
        self.observe = observe  # observe(item)
        self.finish = finish  # finish(span) just before the span ends
        self.done = False

    def item(self, item: Any) -> None:
        try:
            self.observe(item)
        except Exception:
            count_error()

    def end(self, exc: BaseException | None) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.finish(self.span)
        except Exception:
            count_error()
        end_span(self.span, exc)


class StreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """A synchronous stream (``openai.Stream``, ``anthropic.Stream``) that reports to a tap."""

    def __init__(self, stream: Any, tap: _Tap) -> None:
        super().__init__(stream)
        self._self_tap = tap

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self.__wrapped__)
        except StopIteration:
            self._self_tap.end(None)
            raise
        except BaseException as exc:
            self._self_tap.end(exc)
            raise
        self._self_tap.item(item)
        return item

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_tap.end(None)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_tap.end(None)

    def __del__(self) -> None:
        tap = getattr(self, "_self_tap", None)
        if tap is not None:
            tap.end(None)


class AsyncStreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """An asynchronous stream (``openai.AsyncStream``, ``anthropic.AsyncStream``)."""

    def __init__(self, stream: Any, tap: _Tap) -> None:
        super().__init__(stream)
        self._self_tap = tap

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_tap.end(None)
            raise
        except BaseException as exc:
            self._self_tap.end(exc)
            raise
        self._self_tap.item(item)
        return item

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_tap.end(None)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_tap.end(None)

    def __del__(self) -> None:
        tap = getattr(self, "_self_tap", None)
        if tap is not None:
            tap.end(None)


def tap(span: Any, observe: Any, finish: Any) -> _Tap:
    return _Tap(span, observe, finish)
