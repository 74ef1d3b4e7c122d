"""The emitter: a bounded in-process queue drained by one background thread.

Ending a span appends it to :attr:`Emitter.queue` (a ``collections.deque``; appends
are atomic under the GIL, so the agent takes no lock). The thread wakes every
``flush_interval_s``, when the queue reaches ``flush_at`` spans, or on
:meth:`Emitter.flush`; it turns live spans into :class:`~agenttrace.model.Span`
Structs, packs them into datagrams of at most ``max_datagram_bytes`` and hands them to
a non-blocking transport. Every span that does not reach the socket is counted by
reason; nothing here ever raises into the agent.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, deque
from typing import Any

from agenttrace import wire
from agenttrace.model import Event, Span
from agenttrace.sdk.config import Config
from agenttrace.sdk.transport import Transport, make_transport

__all__ = ["FAST_SPAN_FIELDS", "Emitter"]

# The fields, in order, of the one positional Span(...) in Emitter._convert_all: the
# first 21 of Span's own (a test pins them; msgspec fills the rest with defaults).
FAST_SPAN_FIELDS: tuple[str, ...] = (
    "trace_id",
    "span_id",
    "name",
    "start_ns",
    "end_ns",
    "parent_id",
    "kind",
    "status",
    "status_message",
    "session_id",
    "service",
    "user_id",
    "environment",
    "tags",
    "model",
    "provider",
    "usage",
    "cost_usd",
    "input_preview",
    "output_preview",
    "attributes",
)

_DRAIN_CHUNK = 2048  # spans converted and packed per round, so a burst is sent in pieces


def new_sender_id() -> int:
    return int.from_bytes(os.urandom(8), "little") or 1


class Emitter:
    """Owns the queue, the background thread, the transport and the counters."""

    def __init__(self, config: Config, *, flush_at: int = 512) -> None:
        self.config = config
        self.flush_at = flush_at
        self.transport: Transport = make_transport(config.endpoint)
        self._tags = list(config.tags)
        self._init_state()

    def _init_state(self) -> None:
        self.queue: deque[Any] = deque()
        self.sender_id = new_sender_id()
        self.seq = 0
        self._tail_seq = 0  # self.seq when the last tail datagram went out
        self._lock = threading.Lock()
        self._dropped: Counter[str] = Counter()
        self._dropped_at_flush: Counter[str] = Counter()  # what the last flush() had seen
        self._last_flush: dict[str, Any] = {"ok": True, "timed_out": False, "dropped": {}}
        self._sampled_out = 0
        self._drained = 0
        self._sent = 0
        self._truncated = 0
        self._datagrams_sent = 0
        self._datagrams_dropped = 0
        self._tails = 0
        self._tails_refused = 0
        self._wake = threading.Event()
        self._cond = threading.Condition(threading.Lock())
        self._flush_requested = 0
        self._flush_done = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="agenttrace-emitter", daemon=True)
        self._thread = thread
        thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def flush(self, timeout: float | None = 5.0) -> bool:
        """Send everything queued before this call. True if that was done within
        ``timeout`` and no span was dropped since the previous flush; ``stats()["last_flush"]``
        says why not (``dropped`` by reason, ``timed_out``)."""
        if not self.running:
            self._drain()
            self._send_tail()
            done = not self.queue
        else:
            with self._cond:
                self._flush_requested += 1
                target = self._flush_requested
            self._wake.set()
            with self._cond:
                done = self._cond.wait_for(lambda: self._flush_done >= target, timeout)
        with self._lock:
            since = self._dropped - self._dropped_at_flush  # Counter subtraction: the new drops
            self._dropped_at_flush = Counter(self._dropped)
            ok = done and not since
            self._last_flush = {"ok": ok, "timed_out": not done, "dropped": dict(since)}
        return ok

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Flush, stop the thread and close the socket. True if everything was sent."""
        done = self.flush(timeout)
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        left = len(self.queue)
        if left:
            self.count("shutdown", left)
            self.queue.clear()
        self.transport.close()
        return done and not left

    def after_fork_in_child(self) -> None:
        """A forked child gets its own sender id, sequence, queue, counters and thread;
        spans its parent had queued are the parent's to send."""
        self.transport.close()  # closes the child's copy of the descriptor only
        self.transport = make_transport(self.config.endpoint)
        self._init_state()
        self.start()

    # --- counters ------------------------------------------------------------------------

    def count(self, reason: str, n: int = 1) -> None:
        """Count ``n`` spans not sent for ``reason`` (``sampled_out`` is not a drop)."""
        with self._lock:
            if reason == "sampled_out":
                self._sampled_out += n
            else:
                self._dropped[reason] += n

    def stats(self) -> dict[str, Any]:
        with self._lock:
            dropped = dict(self._dropped)
            queued = len(self.queue)
            return {
                "emitted": self._drained + queued,
                "sent": self._sent,
                "queued": queued,
                "dropped": dropped,
                "dropped_total": sum(dropped.values()),
                "sampled_out": self._sampled_out,
                "truncated": self._truncated,
                "datagrams_sent": self._datagrams_sent,
                "datagrams_dropped": self._datagrams_dropped,
                "tails": self._tails,
                "tails_refused": self._tails_refused,
                "sender_id": self.sender_id,
                "endpoint": str(self.config.endpoint),
                "last_flush": {**self._last_flush, "dropped": dict(self._last_flush["dropped"])},
            }

    # --- the background thread --------------------------------------------------------

    def _run(self) -> None:
        interval = self.config.flush_interval_s
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            with self._cond:
                requested = self._flush_requested
            self._drain()
            if requested != self._flush_done:
                self._send_tail()
                with self._cond:
                    self._flush_done = requested
                    self._cond.notify_all()
            if self._stopping:
                return

    def _drain(self) -> None:
        queue = self.queue
        popleft = queue.popleft
        while queue:
            chunk = []
            try:
                for _ in range(_DRAIN_CHUNK):
                    chunk.append(popleft())
            except IndexError:
                pass
            with self._lock:
                self._drained += len(chunk)
            try:
                self._send(chunk)
            except Exception:  # a bug here must not kill the thread: count and carry on
                self.count("internal_error", len(chunk))

    def _send_tail(self) -> None:
        """After a flush: a datagram with no spans that uses up the next sequence number,
        so the collector sees the gap left by a lost last datagram and counts it
        (docs/format/wire.md, "Tail datagrams"). Not sent when nothing went out since
        the last one."""
        if self.seq == self._tail_seq:
            return
        try:
            datagram = wire.encode([], sender_id=self.sender_id, seq=self.seq, compress=False)
            self.seq = self._tail_seq = (self.seq + 1) & 0xFFFFFFFF
            refused = self.transport.send(datagram) is not None
        except Exception:  # never into the agent
            refused = True
        with self._lock:
            self._tails += 1
            if refused:
                self._tails_refused += 1

    def _send(self, live_spans: list[Any]) -> None:
        spans, unconvertible = self._convert_all(live_spans)
        stats: dict[str, int] = {}
        datagrams = wire.batch(
            spans,
            self.config.max_datagram_bytes,
            sender_id=self.sender_id,
            seq=self.seq,
            compress=None if self.config.compress else False,
            stats=stats,
        )
        # One sequence number per datagram attempted: a refused datagram leaves a gap
        # the collector counts as lost.
        self.seq = (self.seq + len(datagrams)) & 0xFFFFFFFF
        sent = dropped_grams = 0
        failed: Counter[str] = Counter()
        send = self.transport.send
        for datagram in datagrams:
            n = datagram[4] | (datagram[5] << 8)  # span_count, little-endian u16 at offset 4
            reason = send(datagram)
            if reason is None:
                sent += n
            else:
                failed[reason] += n
                dropped_grams += 1
        with self._lock:
            self._sent += sent
            self._datagrams_sent += len(datagrams) - dropped_grams
            self._datagrams_dropped += dropped_grams
            self._truncated += stats.pop("truncated", 0)
            self._dropped.update(failed)
            self._dropped.update(stats)
            if unconvertible:
                self._dropped["unencodable"] += unconvertible

    def _convert_all(self, live_spans: list[Any]) -> tuple[list[Span], int]:
        """Turn live spans into Span Structs; returns them and how many failed.

        This loop is most of the emitter thread's work per span, and that thread competes
        with the agent for the GIL: hence the hoisted locals, and the one positional
        ``Span(...)`` of the code base for the common span (no model, usage or events),
        in the order of :data:`FAST_SPAN_FIELDS` (tests/sdk pin it to ``Span``'s fields).
        Spans with more are built with keywords."""
        cfg = self.config
        service, environment = cfg.service, cfg.environment
        default_session, default_user, default_tags = cfg.session_id, cfg.user_id, self._tags
        out: list[Span] = []
        append = out.append
        failed = 0
        for live in live_spans:
            try:
                trace = live.trace  # tracer.TraceState: [trace_id, sampled, session, root, pending]
                session = trace[2]
                if session is None:
                    session_id, user_id, tags = default_session, default_user, default_tags
                else:
                    session_id = default_session if session.session_id is None else session.session_id
                    user_id = default_user if session.user_id is None else session.user_id
                    tags = default_tags if session.tags is None else list(session.tags)
                attributes = live.attributes
                for key in attributes:
                    if type(key) is not str:
                        attributes = {str(k): v for k, v in attributes.items()}
                        break
                name = live.name
                if type(name) is not str:
                    name = str(name)
                kind = live.kind
                if type(kind) is not str:
                    kind = str(kind)
                parent_id = live.parent_id
                extra = live._extra
                if extra is None:
                    append(
                        Span(  # positional, in FAST_SPAN_FIELDS order
                            trace[0].to_bytes(16, "big"),
                            live.span_id.to_bytes(8, "big"),
                            name,
                            live.start_ns,
                            live.end_ns,
                            parent_id.to_bytes(8, "big") if parent_id else b"",
                            kind,
                            live.status,
                            "",
                            session_id,
                            service,
                            user_id,
                            environment,
                            tags,
                            "",
                            "",
                            None,
                            None,
                            "",
                            "",
                            attributes,
                        )
                    )
                    continue
                events = extra.get("events")
                append(
                    Span(
                        trace_id=trace[0].to_bytes(16, "big"),
                        span_id=live.span_id.to_bytes(8, "big"),
                        name=name,
                        start_ns=live.start_ns,
                        end_ns=live.end_ns,
                        parent_id=parent_id.to_bytes(8, "big") if parent_id else b"",
                        kind=kind,
                        status=int(live.status),
                        status_message=str(extra.get("status_message", "")),
                        session_id=session_id,
                        service=service,
                        user_id=user_id,
                        environment=environment,
                        tags=tags,
                        model=str(extra.get("model", "")),
                        provider=str(extra.get("provider", "")),
                        usage=extra.get("usage"),
                        cost_usd=extra.get("cost_usd"),
                        input_preview=extra.get("input_preview", ""),
                        output_preview=extra.get("output_preview", ""),
                        attributes=attributes,
                        events=[Event(name=str(n), time_ns=t, attributes=dict(a)) for n, t, a in events]
                        if events
                        else [],
                        service_tier=extra.get("service_tier", ""),
                    )
                )
            except Exception:
                failed += 1
        return out, failed
