"""The emitter end to end: SDK → real UDP and Unix sockets → decode; datagram sizes and
sequence numbers; drop accounting with a full queue, no listener and a full socket;
fork; exit; and the disabled SDK."""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_helpers import Recorder, run_python  # type: ignore[import-not-found]

import agenttrace as at
from agenttrace import wire
from agenttrace.model import SPAN_KINDS

text = st.text(max_size=30)
scalar = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | text
span_specs = st.lists(
    st.fixed_dictionaries(
        {
            "name": text,
            "kind": st.sampled_from(SPAN_KINDS),
            "attributes": st.dictionaries(
                st.text(min_size=1, max_size=20).filter(lambda k: k not in ("kind", "traceparent")), scalar, max_size=4
            ),
            "usage": st.none() | st.tuples(*[st.integers(0, 10**7)] * 5),
            "input": st.none() | st.text(max_size=200),
            "error": st.booleans(),
            "children": st.integers(0, 3),
        }
    ),
    min_size=1,
    max_size=6,
)


def _emit(spec: dict) -> None:
    try:
        with at.span(spec["name"], kind=spec["kind"], **spec["attributes"]) as s:
            if spec["usage"] is not None:
                s.set_usage(
                    **dict(
                        zip(
                            (
                                "input_tokens",
                                "output_tokens",
                                "cache_read_tokens",
                                "cache_write_tokens",
                                "reasoning_tokens",
                            ),
                            spec["usage"],
                            strict=True,
                        )
                    )
                )
            if spec["input"] is not None:
                s.set_input(spec["input"])
            for i in range(spec["children"]):
                with at.span(f"child-{i}"):
                    pass
            if spec["error"]:
                raise ValueError("generated")
    except ValueError:
        pass


def _check_round_trip(rec, specs: list[dict]) -> None:
    rec.sink.datagrams()  # start from an empty socket
    for spec in specs:
        _emit(spec)
    spans = rec.spans()
    roots = [s for s in spans if s.parent_id == b""]
    assert len(spans) == sum(1 + spec["children"] for spec in specs)
    assert len(roots) == len(specs)
    for spec, got in zip(specs, roots, strict=True):
        assert (got.name, got.kind, got.attributes) == (spec["name"], spec["kind"], spec["attributes"])
        assert got.status == (2 if spec["error"] else 0)
        if spec["usage"] is None:
            assert got.usage is None
        else:
            assert got.usage is not None
            assert (
                got.usage.input_tokens,
                got.usage.output_tokens,
                got.usage.cache_read_tokens,
                got.usage.cache_write_tokens,
                got.usage.reasoning_tokens,
            ) == spec["usage"]
        assert got.input_preview == (spec["input"] or "")[:2000]
        children = [s for s in spans if s.parent_id == got.span_id]
        assert sorted(c.name for c in children) == sorted(f"child-{i}" for i in range(spec["children"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(span_specs)
def test_round_trip_over_udp(rec, specs) -> None:
    _check_round_trip(rec, specs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(span_specs)
def test_round_trip_over_unix_socket(unix_sink, specs) -> None:
    rec = Recorder(unix_sink)
    rec.configure()
    try:
        _check_round_trip(rec, specs)
    finally:
        at.shutdown()


def test_datagrams_respect_the_size_limit_and_number_consecutively(rec) -> None:
    rec.configure(max_datagram_bytes=1024)
    for i in range(300):
        with at.span(f"span-{i}", kind="tool", payload="p" * 50):
            pass
    with at.span("huge") as s:
        s.set_output("o" * 1500)
        s.set_attribute("blob", "b" * 5000)
    assert at.flush(5)
    raw = rec.sink.datagrams()
    assert all(len(d) <= 1024 for d in raw)
    decoded = [wire.decode(d) for d in raw]
    assert len(decoded) > 10
    assert [d.seq for d in decoded] == list(range(len(decoded)))
    assert len({d.sender_id for d in decoded}) == 1
    names = [s.name for d in decoded for s in d.spans]
    assert names == [f"span-{i}" for i in range(300)] + ["huge"]
    # flush() ends with a tail: no spans, the next number, so a lost last datagram shows.
    assert decoded[-1].spans == [] and decoded[-2].spans
    huge = decoded[-2].spans[-1]
    assert huge.attributes["agenttrace.truncated"] > 1024
    stats = at.stats()
    assert stats["sent"] == stats["emitted"] == 301
    assert stats["truncated"] == 1 and stats["dropped_total"] == 0
    assert stats["datagrams_sent"] == len(decoded) - 1 and stats["tails"] == 1


def test_full_queue_drops_are_counted_and_never_raise(rec) -> None:
    rec.configure(max_queue_size=50, flush_interval_s=30)
    # A long switch interval keeps the emitter thread from draining during the burst,
    # so exactly max_queue_size spans fit.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        for i in range(200):
            with at.span(f"s{i}"):
                pass
    finally:
        sys.setswitchinterval(old)
    stats = at.stats()
    assert stats["dropped"] == {"queue_full": 150}
    assert stats["emitted"] == 50
    assert len(rec.spans()) == 50
    assert at.stats()["sent"] == 50


def test_no_udp_listener_is_counted_never_raised(rec) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens on this port now
    rec.configure(endpoint=f"udp://127.0.0.1:{port}")
    for round_ in range(4):
        for i in range(20):
            with at.span(f"r{round_}-{i}"):
                pass
        assert not at.flush(5)  # every span of the round was dropped
    stats = at.stats()
    # On loopback the ICMP port-unreachable is charged to the datagram that caused it.
    assert stats["dropped"] == {"no_listener": 80}
    assert (stats["emitted"], stats["sent"], stats["datagrams_dropped"]) == (80, 0, 4)


def test_missing_unix_socket_then_listener_appears(tmp_path) -> None:
    path = str(tmp_path / "late.sock")
    at.configure(endpoint=f"unix://{path}", service="tests")
    try:
        for i in range(10):
            with at.span(f"early-{i}"):
                pass
        assert not at.flush(5)
        assert at.stats()["dropped"] == {"no_listener": 10}
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(path)
        sink.settimeout(2)
        with at.span("late"):
            pass
        assert at.flush(5)
        datagram = wire.decode(sink.recv(65536))
        sink.close()
        # The refused datagram consumed sequence number 0 and the first flush's tail 1:
        # the collector sees the gap.
        assert datagram.seq == 2
        assert [s.name for s in datagram.spans] == ["late"]
        assert at.stats()["sent"] == 1
    finally:
        at.shutdown()


def test_full_unix_socket_buffer_is_counted_as_would_block(unix_sink) -> None:
    rec = Recorder(unix_sink)
    rec.configure(max_datagram_bytes=4096)
    unix_sink.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 10)
    try:
        # Nobody reads the sink: once its small buffer is full, sends fail with EAGAIN.
        for i in range(2000):
            with at.span(f"s{i}", pad="x" * 200):
                pass
            if i % 500 == 499:
                at.flush(5)
        at.flush(5)
        stats = at.stats()
        received = len(unix_sink.spans())
    finally:
        at.shutdown()
    assert stats["dropped"].get("would_block", 0) > 0
    assert stats["emitted"] + stats["dropped"].get("queue_full", 0) == 2000
    assert received == stats["sent"]
    assert stats["sent"] + sum(v for k, v in stats["dropped"].items() if k != "queue_full") == stats["emitted"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_gets_its_own_sender_queue_and_thread(rec) -> None:
    rec.configure(flush_interval_s=30)  # keep the parent's span queued across the fork
    with at.span("parent-before-fork"):
        pass
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            with at.span("child-span"):
                pass
            ok = at.flush(5)
            st_ = at.stats()
            os.write(write_fd, json.dumps({"ok": ok, "sender": st_["sender_id"], "emitted": st_["emitted"]}).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    child = json.loads(os.read(read_fd, 4096))
    os.close(read_fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child["ok"] and child["emitted"] == 1
    parent_sender = at.stats()["sender_id"]
    assert child["sender"] != parent_sender
    with at.span("parent-after-fork"):
        pass
    assert at.flush(5)
    by_sender: dict[int, list[tuple[int, str]]] = {}
    for d in rec.sink.decoded():
        by_sender.setdefault(d.sender_id, []).extend((d.seq, s.name) for s in d.spans)
    assert by_sender[child["sender"]] == [(0, "child-span")]
    assert sorted(name for _, name in by_sender[parent_sender]) == ["parent-after-fork", "parent-before-fork"]


def test_spans_are_flushed_at_interpreter_exit(udp_sink) -> None:
    result = run_python(
        "import agenttrace as at\nfor i in range(100):\n    with at.span(f'exit-{i}'):\n        pass\n",
        env={"AGENTTRACE_ENDPOINT": udp_sink.endpoint},
    )
    assert result.returncode == 0, result.stderr
    assert sorted(s.name for s in udp_sink.spans(wait=2)) == sorted(f"exit-{i}" for i in range(100))


def test_disabled_sdk_starts_nothing_and_spans_are_noops(udp_sink) -> None:
    code = """
import sys, threading, json, socket
real_socket = socket.socket
opened = []
class Spy(real_socket):
    def __init__(self, *a, **k):
        opened.append(a)
        super().__init__(*a, **k)
socket.socket = Spy
import agenttrace as at
@at.observe
def f(x):
    return x * 2
with at.span("s", a=1) as s:
    s.set_attribute("k", "v")
    s.set_usage(input_tokens=1)
    assert f(2) == 4
with at.llm("g", model="m") as g:
    g.set_output("x")
at.flush()
print(json.dumps({"threads": threading.active_count(), "sockets": len(opened), "stats": at.stats()}))
"""
    result = run_python(code, env={"AGENTTRACE_DISABLED": "1", "AGENTTRACE_ENDPOINT": udp_sink.endpoint})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["threads"] == 1 and out["sockets"] == 0
    assert out["stats"]["disabled"] is True and out["stats"]["emitted"] == 0
    assert udp_sink.spans(wait=0.3) == []


def test_import_is_cheap_and_has_no_side_effects() -> None:
    code = """
import sys, threading, agenttrace
assert threading.active_count() == 1
at_span = agenttrace.span  # loading the SDK surface still starts nothing
heavy = [m for m in sys.modules if m.split('.')[0] in ('lz4', 'typer', 'litestar', 'uvloop', 'textual')]
heavy += [m for m in sys.modules if m.startswith(('agenttrace.collector', 'agenttrace.store', 'agenttrace.cli'))]
print(heavy, threading.active_count())
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] 1"


def test_compression_when_configured(rec) -> None:
    rec.configure(compress=True)
    for i in range(200):
        with at.span(f"s{i}", kind="tool", text="the same words again and again " * 4):
            pass
    assert at.flush(5)
    raw = rec.sink.datagrams()
    assert raw and all(d[3] & wire.FLAG_LZ4 for d in raw if d[4:6] != b"\x00\x00")  # the tail has no spans
    assert [s.name for d in raw for s in wire.decode(d).spans] == [f"s{i}" for i in range(200)]


def test_spans_go_out_on_the_interval_without_flush(rec) -> None:
    rec.configure(flush_interval_s=0.05)
    with at.span("timely"):
        pass
    assert [s.name for s in rec.sink.spans(wait=2)] == ["timely"]


def test_a_full_batch_wakes_the_emitter_early(rec) -> None:
    rec.configure(flush_interval_s=30)  # the interval alone would not send within the test
    for i in range(600):
        with at.span(f"s{i}"):
            pass
    got: list = []
    deadline = 50
    while len(got) < 512 and deadline:
        got += rec.sink.spans(wait=0.1)
        deadline -= 1
    assert len(got) >= 512


def test_stale_unix_socket_file_counts_as_no_listener(tmp_path) -> None:
    path = str(tmp_path / "stale.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(path)
    dead.close()  # the file stays, nobody reads it: a collector that crashed
    at.configure(endpoint=f"unix://{path}", service="tests")
    for i in range(5):
        with at.span(f"s{i}"):
            pass
    assert not at.flush(5)
    assert at.stats()["dropped"] == {"no_listener": 5}


def test_emitter_thread_survives_a_bug_and_counts_the_loss(rec) -> None:
    from agenttrace.sdk import runtime

    emitter = runtime._emitter
    real = emitter.transport

    class Broken:
        def send(self, data: bytes) -> None:
            raise RuntimeError("bug in a transport")

        def close(self) -> None:
            pass

    emitter.transport = Broken()
    for i in range(7):
        with at.span(f"lost-{i}"):
            pass
    assert not at.flush(5)
    assert at.stats()["last_flush"]["dropped"] == {"internal_error": 7}
    emitter.transport = real
    with at.span("after"):
        pass
    assert [s.name for s in rec.spans()] == ["after"]
    stats = at.stats()
    assert stats["dropped"] == {"internal_error": 7}
    assert emitter.running


def test_flush_is_false_when_spans_since_the_last_flush_were_dropped(tmp_path) -> None:
    # Issue 20: with the collector's socket gone every span is dropped as no_listener,
    # and flush() used to say True all the same.
    path = str(tmp_path / "collector.sock")
    at.configure(endpoint=f"unix://{path}", service="tests")
    try:
        for i in range(7):
            with at.span(f"lost-{i}"):
                pass
        assert at.flush(5) is False
        assert at.stats()["last_flush"] == {"ok": False, "timed_out": False, "dropped": {"no_listener": 7}}
        sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sink.bind(path)
        try:
            with at.span("delivered"):
                pass
            # The drops were reported once; this flush lost nothing.
            assert at.flush(5) is True
            assert at.stats()["last_flush"] == {"ok": True, "timed_out": False, "dropped": {}}
            assert at.stats()["dropped"] == {"no_listener": 7}
        finally:
            sink.close()
    finally:
        at.shutdown()


def test_flush_is_false_after_queue_full_drops(rec) -> None:
    rec.configure(max_queue_size=10, flush_interval_s=30)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)  # the emitter thread does not drain during the burst
    try:
        for i in range(30):
            with at.span(f"s{i}"):
                pass
    finally:
        sys.setswitchinterval(old)
    assert at.flush(5) is False
    assert at.stats()["last_flush"]["dropped"] == {"queue_full": 20}
    with at.span("after"):
        pass
    assert at.flush(5) is True
