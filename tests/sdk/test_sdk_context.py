"""Parents stay right across await, gather, create_task, helper-started threads and
processes (traceparent); sessions scope root spans."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from sdk_helpers import run_python  # type: ignore[import-not-found]

import agenttrace as at


def test_gather_and_create_task_keep_each_tasks_parent(rec) -> None:
    async def worker(i: int) -> None:
        with at.span(f"task-{i}"):
            await asyncio.sleep(0.001 * (3 - i))  # interleave the tasks
            with at.span(f"leaf-{i}"):
                await asyncio.sleep(0)

    async def main() -> None:
        with at.agent("root"):
            await asyncio.gather(worker(0), worker(1))
            task = asyncio.create_task(worker(2))
            with at.span("meanwhile"):
                await task

    asyncio.run(main())
    spans = rec.by_name()
    root = spans["root"]
    for i in range(3):
        assert spans[f"task-{i}"].parent_id == root.span_id
        assert spans[f"leaf-{i}"].parent_id == spans[f"task-{i}"].span_id
    assert spans["meanwhile"].parent_id == root.span_id
    assert {s.trace_id for s in spans.values()} == {root.trace_id}


def test_threads_started_through_the_helpers_keep_the_parent(rec) -> None:
    def work(name: str) -> str:
        with at.tool(name):
            return name

    with at.agent("root"):
        t = at.run_in_thread(work, "via-run_in_thread")
        t.join()
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(at.bind_context(work), ["pool-a", "pool-b"])) == ["pool-a", "pool-b"]
        plain = threading.Thread(target=work, args=("plain-thread",))
        plain.start()
        plain.join()
    spans = rec.by_name()
    root = spans["root"]
    for name in ("via-run_in_thread", "pool-a", "pool-b"):
        assert spans[name].parent_id == root.span_id, name
        assert spans[name].trace_id == root.trace_id
    # A bare Thread starts with an empty context: its span is a new root (documented).
    assert spans["plain-thread"].parent_id == b""
    assert spans["plain-thread"].trace_id != root.trace_id


def test_traceparent_crosses_a_process_boundary(rec) -> None:
    with at.agent("caller") as caller:
        carrier: dict[str, str] = {}
        header = at.inject_traceparent(carrier)
        assert carrier == {"traceparent": header}
        result = run_python(
            "import sys, agenttrace as at\n"
            "with at.span('callee', kind='http', traceparent=sys.argv[1]) as s:\n"
            "    with at.tool('inside'):\n"
            "        pass\n"
            "at.flush()\n",
            args=[header],
            env={"AGENTTRACE_ENDPOINT": rec.sink.endpoint, "AGENTTRACE_SERVICE": "downstream"},
        )
        assert result.returncode == 0, result.stderr
    spans = rec.by_name()
    caller_span = spans["caller"]
    assert header == f"00-{caller_span.trace_id.hex()}-{caller_span.span_id.hex()}-01"
    assert caller.traceparent == header
    callee = spans["callee"]
    assert callee.trace_id == caller_span.trace_id
    assert callee.parent_id == caller_span.span_id
    assert callee.service == "downstream"
    assert spans["inside"].parent_id == callee.span_id


def test_extract_traceparent_accepts_headers_and_rejects_garbage(rec) -> None:
    good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    parent = at.extract_traceparent({"TraceParent": good})
    assert parent is not None and parent.traceparent == good
    for bad in (None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "ff-" + good[3:], good + "x"):
        assert at.extract_traceparent(bad) is None, bad
    with at.span("child", traceparent=parent):
        pass
    with at.span("fresh", traceparent="not a header"):
        pass
    spans = rec.by_name()
    assert spans["child"].trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert spans["child"].parent_id.hex() == "00f067aa0ba902b7"
    assert spans["fresh"].parent_id == b""
    assert at.inject_traceparent() is None


def test_sessions_scope_root_spans_and_children_inherit(rec) -> None:
    rec.configure(session_id="default-session", user_id="u0", tags=["prod"], environment="staging")
    with at.span("outside"):
        pass
    with at.session("conv-42", user_id="alice", tags=["beta"]) as sid:
        assert sid == "conv-42"
        with at.agent("inside"), at.tool("child"):
            pass
    with at.session() as fresh, at.span("auto"):
        pass
    spans = rec.by_name()
    assert (spans["outside"].session_id, spans["outside"].user_id, spans["outside"].tags) == (
        "default-session",
        "u0",
        ["prod"],
    )
    assert spans["outside"].environment == "staging" and spans["outside"].service == "tests"
    for name in ("inside", "child"):
        assert (spans[name].session_id, spans[name].user_id, spans[name].tags) == ("conv-42", "alice", ["beta"])
    assert spans["auto"].session_id == fresh and len(fresh) == 32
    assert spans["auto"].user_id == "u0"


def test_default_session_id_is_stable_per_process(rec) -> None:
    with at.span("a"):
        pass
    with at.span("b"):
        pass
    spans = rec.by_name()
    assert spans["a"].session_id == spans["b"].session_id != ""


def test_many_threads_at_once_lose_nothing_and_keep_parents(rec) -> None:
    def worker(i: int) -> None:
        for j in range(300):
            with at.span(f"w{i}-{j}"), at.span(f"w{i}-{j}-leaf"):
                pass

    with at.agent("root"):
        threads = [at.run_in_thread(worker, i) for i in range(8)]
        for t in threads:
            t.join()
    spans = rec.spans()
    assert len(spans) == 8 * 300 * 2 + 1
    by_name = {s.name: s for s in spans}
    root = by_name["root"]
    for i in range(8):
        for j in range(0, 300, 37):
            assert by_name[f"w{i}-{j}"].parent_id == root.span_id
            assert by_name[f"w{i}-{j}-leaf"].parent_id == by_name[f"w{i}-{j}"].span_id
    stats = at.stats()
    assert stats["emitted"] == stats["sent"] == len(spans)
