"""Spans as users write them: nesting, errors, typed helpers, previews, and the
decorator on plain, async, generator and async-generator functions."""

from __future__ import annotations

import asyncio

import pytest

import agenttrace as at
from agenttrace.model import Status


def test_nested_spans_share_a_trace_and_point_at_their_parent(rec) -> None:
    with at.agent("run", goal="demo") as root:
        with at.span("plan", kind="reasoning") as plan:
            plan.set_attribute("steps", 3)
            with at.tool("search", query="q") as t:
                t.add_event("retry", attempt=2)
        with at.retrieval("lookup"):
            pass
    spans = rec.by_name()
    assert set(spans) == {"run", "plan", "search", "lookup"}
    run = spans["run"]
    assert run.parent_id == b"" and run.kind == "agent" and run.attributes == {"goal": "demo"}
    assert {s.trace_id for s in spans.values()} == {run.trace_id}
    assert spans["plan"].parent_id == run.span_id
    assert spans["search"].parent_id == spans["plan"].span_id
    assert spans["lookup"].parent_id == run.span_id
    assert spans["plan"].attributes == {"steps": 3}
    assert spans["search"].kind == "tool" and spans["search"].attributes == {"query": "q"}
    (event,) = spans["search"].events
    assert (event.name, event.attributes) == ("retry", {"attempt": 2})
    assert run.start_ns <= spans["plan"].start_ns <= spans["search"].start_ns <= spans["search"].end_ns
    assert spans["search"].end_ns <= spans["plan"].end_ns <= run.end_ns
    assert len(run.trace_id) == 16 and len(run.span_id) == 8
    assert root.traceparent.split("-")[1] == run.trace_id.hex()
    assert at.current_span() is None


def test_exception_marks_error_and_propagates_unchanged(rec) -> None:
    boom = KeyError("missing")
    with pytest.raises(KeyError) as info, at.span("outer"), at.tool("fetch"):
        raise boom
    assert info.value is boom
    spans = rec.by_name()
    for name in ("outer", "fetch"):
        span = spans[name]
        assert span.status == Status.ERROR
        assert span.status_message == "KeyError: 'missing'"
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes == {"exception.type": "KeyError", "exception.message": "'missing'"}


def test_set_status_and_ok_spans(rec) -> None:
    with at.span("explicit") as s:
        s.set_status("error", "validation failed")
    with at.span("fine") as s:
        s.set_status(Status.OK)
    with at.span("untouched"):
        pass
    spans = rec.by_name()
    assert (spans["explicit"].status, spans["explicit"].status_message) == (2, "validation failed")
    assert spans["fine"].status == 1
    assert spans["untouched"].status == 0


def test_llm_span_records_model_usage_cost_and_tier(rec) -> None:
    with at.llm("answer", model="claude-sonnet-4-5", provider="anthropic") as g:
        g.set_usage(
            input_tokens=1500,
            output_tokens=200,
            cache_read_tokens=1000,
            cache_write_tokens=300,
            reasoning_tokens=50,
            cache_write_1h_tokens=100,
            cost_usd=0.0123,
            service_tier="batch",
        )
        g.set_input([{"role": "user", "content": "hi"}])
        g.set_output("hello")
    span = rec.spans()[0]
    assert (span.kind, span.model, span.provider) == ("llm", "claude-sonnet-4-5", "anthropic")
    assert span.usage is not None
    assert (span.usage.input_tokens, span.usage.output_tokens) == (1500, 200)
    assert (span.usage.cache_read_tokens, span.usage.cache_write_tokens, span.usage.cache_write_1h_tokens) == (
        1000,
        300,
        100,
    )
    assert span.usage.reasoning_tokens == 50
    assert (span.cost_usd, span.service_tier) == (0.0123, "batch")
    assert span.input_preview == '[{"role":"user","content":"hi"}]'
    assert span.output_preview == "hello"


def test_set_usage_keeps_tokens_and_cost_in_their_documented_range(rec) -> None:
    """The collector is the guard (agenttrace/bounds.py); the SDK does not send what it would clamp."""
    with at.llm("a", model="m") as g:
        g.set_usage(input_tokens=-5, output_tokens=2**64, cost_usd=float("nan"))
    with at.llm("b", model="m") as g:
        g.set_usage(input_tokens=1, cost_usd=-1.0)
    spans = rec.by_name()
    assert (spans["a"].usage.input_tokens, spans["a"].usage.output_tokens) == (0, 2**32 - 1)
    assert spans["a"].cost_usd is None and spans["b"].cost_usd is None


def test_previews_are_truncated_and_masked(rec) -> None:
    seen: list[str] = []

    def mask(text: str) -> str:
        seen.append(text)
        return text.replace("sk-secret", "[KEY]")

    rec.configure(max_preview_chars=20, mask=mask)
    with at.span("call") as s:
        s.set_input("use sk-secret please")
        s.set_output("x" * 100)
    with pytest.raises(RuntimeError), at.span("fails"):
        raise RuntimeError("bad key sk-secret")
    spans = rec.by_name()
    call = spans["call"]
    assert call.input_preview == "use [KEY] please"
    assert len(call.output_preview) == 20 and call.output_preview.endswith("…")
    assert call.attributes["agenttrace.preview_truncated"] is True
    assert spans["fails"].status_message == "RuntimeError: bad key [KEY]"
    assert spans["fails"].events[0].attributes["exception.message"] == "bad key [KEY]"
    assert "use sk-secret please" in seen and "bad key sk-secret" in seen


def test_failing_mask_leaks_nothing(rec) -> None:

    def mask(text: str) -> str:
        raise ValueError("mask bug")

    rec.configure(mask=mask)
    with at.span("call") as s:
        s.set_input("password=hunter2")
    span = rec.spans()[0]
    assert "hunter2" not in span.input_preview


def test_capture_content_off_sends_no_previews(rec) -> None:
    rec.configure(capture_content=False)
    with at.llm("call", model="m") as g:
        g.set_input("private prompt")
        g.set_output("private answer")
    span = rec.spans()[0]
    assert (span.input_preview, span.output_preview, span.model) == ("", "", "m")


# --- the decorator on the four kinds of function ----------------------------------------


def test_observe_sync_function(rec) -> None:
    @at.observe
    def add(a: int, b: int) -> int:
        with at.span("inner"):
            return a + b

    @at.observe(name="renamed", kind="tool", source="test")
    def fail() -> None:
        raise ValueError("nope")

    assert add(2, 3) == 5
    assert add.__name__ == "add"
    with pytest.raises(ValueError, match="nope"):
        fail()
    spans = {s.name: s for s in rec.spans() if s.name != "inner"}
    assert spans["test_observe_sync_function.<locals>.add"].kind == "custom"
    assert (spans["renamed"].kind, spans["renamed"].attributes, spans["renamed"].status) == (
        "tool",
        {"source": "test"},
        2,
    )


def test_observe_is_reentrant_and_each_call_is_a_fresh_span(rec) -> None:
    @at.span("fact", kind="task")
    def fact(n: int) -> int:
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(4) == 24
    spans = rec.spans()
    assert [s.name for s in spans] == ["fact"] * 4
    assert len({s.span_id for s in spans}) == 4
    by_id = {s.span_id: s for s in spans}
    depths = []
    for s in spans:
        depth = 0
        while s.parent_id:
            s = by_id[s.parent_id]
            depth += 1
        depths.append(depth)
    assert sorted(depths) == [0, 1, 2, 3]


def test_observe_async_function(rec) -> None:
    @at.observe(kind="agent")
    async def run() -> str:
        await asyncio.sleep(0)
        with at.span("step"):
            await asyncio.sleep(0)
        return "done"

    assert asyncio.run(run()) == "done"
    spans = {s.name.rsplit(".", 1)[-1]: s for s in rec.spans()}
    assert spans["step"].parent_id == spans["run"].span_id
    assert spans["run"].kind == "agent"


def test_observe_generator_span_covers_the_whole_iteration(rec) -> None:
    @at.observe(name="gen")
    def numbers(n: int):
        for i in range(n):
            with at.span(f"produce-{i}"):
                pass
            received = yield i
            if received is not None:
                yield f"echo {received}"
        return "finished"

    gen = numbers(2)
    first = next(gen)
    # Between items the consumer's own spans are not children of the generator.
    with at.span("consumer"):
        pass
    assert gen.send("hello") == "echo hello"
    assert at.current_span() is None
    rest = list(gen)
    assert (first, rest) == (0, [1])
    spans = rec.by_name()
    g = spans["gen"]
    assert spans["produce-0"].parent_id == g.span_id and spans["produce-1"].parent_id == g.span_id
    assert spans["consumer"].parent_id == b""
    assert g.start_ns <= spans["produce-0"].start_ns and spans["produce-1"].end_ns <= g.end_ns
    assert spans["consumer"].end_ns <= g.end_ns  # the span was still open while the consumer ran
    assert g.status == 0


def test_generator_return_value_throw_and_early_close(rec) -> None:
    @at.observe(name="delegate")
    def inner():
        yield 1
        return "value"

    def outer():
        result = yield from inner()
        yield result

    assert list(outer()) == [1, "value"]

    @at.observe(name="catches")
    def catches():
        try:
            yield 1
        except KeyError:
            yield "caught"

    gen = catches()
    next(gen)
    assert gen.throw(KeyError("k")) == "caught"
    gen.close()

    @at.observe(name="closed-early")
    def endless():
        while True:
            yield 0

    for _ in endless():
        break

    @at.observe(name="raises")
    def raises():
        yield 1
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        list(raises())
    spans = rec.by_name()
    assert spans["delegate"].status == 0
    assert spans["catches"].status == 0
    assert spans["closed-early"].status == 0
    assert spans["raises"].status == 2 and spans["raises"].status_message == "OSError: disk"


def test_observe_async_generator(rec) -> None:
    @at.observe(name="agen", kind="llm")
    async def stream(n: int):
        for i in range(n):
            with at.span(f"chunk-{i}"):
                await asyncio.sleep(0)
            yield i

    @at.observe(name="agen-fails")
    async def fails():
        yield 1
        raise ValueError("stream broke")

    async def main() -> tuple[list[int], list[int]]:
        got = [i async for i in stream(3)]
        partial = []
        with pytest.raises(ValueError):
            async for i in fails():
                partial.append(i)
        return got, partial

    assert asyncio.run(main()) == ([0, 1, 2], [1])
    spans = rec.by_name()
    agen = spans["agen"]
    assert agen.kind == "llm"
    assert all(spans[f"chunk-{i}"].parent_id == agen.span_id for i in range(3))
    assert spans["chunk-2"].end_ns <= agen.end_ns
    assert spans["agen-fails"].status == 2


def test_async_with_span(rec) -> None:
    async def main() -> None:
        async with at.span("outer") as outer:
            async with at.tool("inner"):
                assert at.current_span() is not outer
            assert at.current_span() is outer

    asyncio.run(main())
    spans = rec.by_name()
    assert spans["inner"].parent_id == spans["outer"].span_id


def test_injected_clock_gives_exact_times(rec) -> None:
    ticks = iter(range(1_000, 100_000, 10))
    rec.configure(clock=lambda: next(ticks))
    with at.span("outer"), at.span("inner") as inner:
        inner.add_event("mark")
    spans = rec.by_name()
    assert (spans["outer"].start_ns, spans["inner"].start_ns) == (1_000, 1_010)
    assert spans["inner"].events[0].time_ns == 1_020
    assert (spans["inner"].end_ns, spans["outer"].end_ns) == (1_030, 1_040)


def test_spans_leave_no_reference_cycles(rec) -> None:
    import gc

    @at.observe
    def work() -> None:
        with at.tool("t", n=1) as t:
            t.set_output("x")

    work()  # warm up lazy imports
    assert at.flush(5)
    gc.collect()
    gc.disable()
    try:
        for _ in range(200):
            with at.agent("root"):
                work()
        assert at.flush(5)
        garbage = gc.collect()
    finally:
        gc.enable()
    assert garbage < 20  # cycles per span would show up as hundreds


def test_unprintable_exception_still_propagates(rec) -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot print me")

    err = Weird()
    with pytest.raises(Weird) as info, at.span("weird"):
        raise err
    assert info.value is err
    span = rec.spans()[0]
    assert span.status == 2
    assert span.status_message == "Weird: <unprintable exception>"
    assert span.events[0].attributes["exception.type"].endswith("Weird")


def test_attribute_called_name_is_an_attribute(rec) -> None:
    with at.span("call", name="customer-name", kind="tool"), at.tool("t", name="n2"):
        pass
    spans = rec.by_name()
    assert spans["call"].attributes == {"name": "customer-name"} and spans["call"].kind == "tool"
    assert spans["t"].attributes == {"name": "n2"}


def test_observe_capture_records_arguments_and_result(rec) -> None:
    @at.observe(name="add", capture=True)
    def add(a: int, b: int = 0) -> dict:
        return {"sum": a + b}

    @at.observe(name="aadd", capture=True)
    async def aadd(a: int) -> int:
        return a + 1

    @at.observe(name="gen", capture=True)
    def gen(n: int):
        yield from range(n)

    @at.observe(name="plain")
    def plain(secret: str) -> str:
        return secret

    assert add(1, b=2) == {"sum": 3}
    assert asyncio.run(aadd(41)) == 42
    assert list(gen(2)) == [0, 1]
    assert plain("s3cret") == "s3cret"
    spans = rec.by_name()
    assert spans["add"].input_preview == '{"args":[1],"kwargs":{"b":2}}'
    assert spans["add"].output_preview == '{"sum":3}'
    assert (spans["aadd"].input_preview, spans["aadd"].output_preview) == ("[41]", "42")
    assert (spans["gen"].input_preview, spans["gen"].output_preview) == ("[2]", "")
    assert (spans["plain"].input_preview, spans["plain"].output_preview) == ("", "")
