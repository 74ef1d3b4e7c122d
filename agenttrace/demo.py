"""``agenttrace demo``: realistic simulated agent traffic, sent through the real SDK.

A newcomer runs a collector and ``agenttrace demo`` and sees ``agenttrace top`` move
without any API key. Three simulated services (a coding agent, a research agent and a
support bot) open sessions that come and go; each session runs a few traces made of LLM
calls (real model names from the pricing catalogue, token counts with prompt-cache hits,
following the token convention: input includes cached), tool calls, file reads and
writes, terminal commands, retrieval, and occasional errors with retries.

    agenttrace demo                          # 50 spans/s until Ctrl-C
    agenttrace demo --rate 500 --duration 60 --seed 7

One process per service (``--processes`` adds more), each an asyncio loop of concurrent
sessions: the SDK's ``at.session`` scopes a session per task, and ``at.configure(service=)``
is per process. A token bucket caps span starts at ``--rate``; a controller adds
sessions (and, past a cap, shortens the simulated latencies) until the rate is reached.

``--replay`` is for load tests beyond what Python can generate span by span: it records a
few seconds of the same traffic as the SDK encodes it (real datagrams, captured on a local
socket), then resends those datagrams at ``--rate`` with fresh sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import multiprocessing as mp
import os
import random
import resource
import secrets
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

import agenttrace as at
from agenttrace import wire

__all__ = ["SERVICES", "DemoError", "RateLimiter", "capture", "demo", "replay", "run_demo"]

DEFAULT_ENDPOINT = "udp://127.0.0.1:4319"


class _WindDown(SystemExit):
    """Raised inside a session when the demo winds down: it unwinds the trace in flight.

    A ``SystemExit`` with code 0, because the SDK records that as a clean exit, not an error:
    the spans it unwinds end where they are, a model call cut short carries no usage (it was
    never billed), and no further span starts. Caught in :func:`_session`, inside the task:
    asyncio would re-raise a ``SystemExit`` that escaped a task out of the event loop.
    """

    def __init__(self) -> None:
        super().__init__(0)


class DemoError(Exception):
    """A simulated failure (rate limit, failing command); the SDK records it on the span."""


# --- pacing -----------------------------------------------------------------------


class RateLimiter:
    """A token bucket pacing span starts at ``rate`` per second for asyncio tasks.

    ``await acquire(n)`` returns once ``n`` tokens are available (at most ``burst`` are
    kept), and takes them; :meth:`adjust` gives back or charges tokens afterwards (a
    trace used fewer or more spans than booked), so the long-run rate is exact.
    ``clock`` is injectable (STYLE.md point 10).
    """

    def __init__(self, rate: float, *, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = float(rate)
        # Room for a few whole traces at once, so booking a trace only waits when the rate is spent.
        self.burst = float(burst if burst is not None else max(30.0, rate / 4))
        self.clock = clock
        self._tokens = self.burst
        self._last = clock()
        self.waits = 0  # times a caller had to wait: the limiter, not the callers, set the pace

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_take(self, n: float) -> float:
        """Take ``n`` tokens if there are enough (0.0 returned); else how long to wait for them."""
        self._refill()
        need = min(n, self.burst)
        if self._tokens >= need:
            self._tokens -= n
            return 0.0
        return (need - self._tokens) / self.rate

    def adjust(self, n: float) -> None:
        """Charge ``n`` more tokens (negative: give them back)."""
        self._refill()
        self._tokens = min(self.burst, self._tokens - n)

    async def acquire(self, n: float = 1.0, *, stop: Callable[[], bool] = lambda: False) -> None:
        first = True
        while (wait := self.try_take(n)) > 0 and not stop():
            if first:
                self.waits += 1
                first = False
            await asyncio.sleep(min(0.25, max(0.005, wait)))


# Spans started by the current session's current trace (each session is its own task).
_trace_spans: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("demo_trace_spans", default=None)


@dataclass
class Sim:
    """What a scenario needs: randomness, pacing, and a time scale."""

    rng: random.Random
    limiter: RateLimiter
    speed: float = 1.0  # >1 shortens every simulated latency
    spans: int = 0
    stopping: bool = False  # winding down: finish the traces in flight quickly, start no more
    spans_per_trace: float = 10.0  # running estimate, for booking the rate budget

    async def gate(self) -> None:
        """Count a span start. Pacing happens between traces (see :func:`_session`), so the
        spans inside a trace keep their simulated timing. Once winding down, no span starts."""
        if self.stopping:
            raise _WindDown
        self.spans += 1
        counter = _trace_spans.get()
        if counter is not None:
            counter[0] += 1

    async def work(self, median_s: float, spread: float = 0.5) -> None:
        """Sleep a log-normal latency around ``median_s`` (simulated time); winding down cuts
        it short by unwinding the trace (:class:`_WindDown`), so what follows never runs."""
        left = self.rng.lognormvariate(math.log(median_s), spread)  # simulated seconds
        while left > 0:
            if self.stopping:
                raise _WindDown
            # Re-read the speed every step so a change applies to sleeps already under way.
            step = min(left / self.speed, 0.25)
            await asyncio.sleep(step)
            left -= step * self.speed

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


@dataclass
class Conversation:
    """A session's growing prompt: later calls read what earlier calls cached."""

    system_tokens: int
    history_tokens: int = 0
    cached_tokens: int = 0
    calls: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


# --- building blocks ------------------------------------------------------------------


async def llm_call(
    sim: Sim,
    conv: Conversation,
    name: str,
    model: str,
    provider: str,
    *,
    new_tokens: int,
    output_tokens: int,
    reasoning: int = 0,
    fail_p: float = 0.02,
    prompt: str = "",
    answer: str = "",
) -> None:
    """One model call, retried after a simulated 429 (each attempt is its own span)."""
    for attempt in range(3):
        await sim.gate()
        try:
            with at.llm(name, model=model, provider=provider, attempt=attempt) as g:
                if prompt:
                    g.set_input(prompt)
                tokens_per_s = 60 if reasoning else 110
                await sim.work(0.35 + (output_tokens + reasoning) / tokens_per_s, 0.35)
                if sim.chance(fail_p):
                    raise DemoError("429 Too Many Requests: rate limit reached, retry after 1s")
                input_tokens = conv.system_tokens + conv.history_tokens + new_tokens
                # Providers cache the prompt prefix: what the last call sent is read from cache;
                # Anthropic also writes the new part (billed as cache writes), OpenAI/Google do not.
                cache_read = min(conv.cached_tokens, input_tokens)
                cache_write = input_tokens - cache_read if provider == "anthropic" else 0
                g.set_usage(
                    input_tokens=input_tokens,
                    output_tokens=output_tokens + reasoning,
                    cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write,
                    reasoning_tokens=reasoning,
                )
                if answer:
                    g.set_output(answer)
            conv.cached_tokens = input_tokens if input_tokens >= 1024 else 0
            conv.history_tokens += new_tokens + output_tokens
            conv.calls += 1
            return
        except DemoError:
            await sim.work(0.8 * (attempt + 1), 0.2)  # back off, then retry
    raise DemoError(f"{name}: gave up after 3 attempts")


async def leaf(sim: Sim, name: str, kind: str, median_s: float, *, fail_p: float = 0.0, **attrs: Any) -> bool:
    """A tool, file, terminal, retrieval... span. Returns False when it failed."""
    await sim.gate()
    with at.span(name, kind=kind, **attrs) as s:
        await sim.work(median_s)
        if sim.chance(fail_p):
            s.set_status("error", attrs.get("error", "exit status 1"))
            if "exit_code" in attrs or kind == "terminal":
                s.set_attribute("exit_code", 1)
            return False
        s.set_status("ok")
    return True


# --- the three services -------------------------------------------------------------

_CODING_TASKS = (
    ("fix failing test", "tests/test_dates.py", "src/dates.py"),
    ("add retry to http client", "src/http.py", "src/http.py"),
    ("refactor config loader", "src/config.py", "src/config.py"),
    ("update dependency pins", "pyproject.toml", "pyproject.toml"),
    ("implement CSV export", "src/export.py", "src/export.py"),
)
_CODING_MODELS = (("claude-sonnet-4-5", "anthropic"), ("gpt-4.1", "openai"), ("o4-mini", "openai"))


async def coding_trace(sim: Sim, conv: Conversation) -> None:
    task, read_path, write_path = sim.rng.choice(_CODING_TASKS)
    model, provider = conv.facts.setdefault("model", sim.rng.choice(_CODING_MODELS))
    reasoning = sim.rng.randint(200, 1500) if model.startswith("o") else 0
    await sim.gate()
    with at.agent(task, task=task) as root:
        await llm_call(
            sim,
            conv,
            "plan",
            model,
            provider,
            new_tokens=sim.rng.randint(300, 1200),
            output_tokens=sim.rng.randint(120, 500),
            reasoning=reasoning,
            prompt=f"You are a coding agent in a Python repository. Task: {task}.",
            answer=f"Plan: read {read_path}, run the tests, patch {write_path}.",
        )
        for path in (read_path, "README.md")[: sim.rng.randint(1, 2)]:
            await leaf(sim, f"read {path}", "file", 0.004, path=path, bytes=sim.rng.randint(400, 20_000))
        await leaf(sim, "rg -n 'def ' src/", "terminal", 0.05, command="rg -n 'def ' src/", exit_code=0)
        passed = await leaf(sim, "pytest -x -q", "terminal", 2.5, fail_p=0.45, command="pytest -x -q", exit_code=0)
        for attempt in range(3 if not passed else 0):
            await llm_call(
                sim,
                conv,
                "write patch",
                model,
                provider,
                new_tokens=sim.rng.randint(800, 4000),
                output_tokens=sim.rng.randint(300, 1800),
                reasoning=reasoning // 2,
                answer=f"--- a/{write_path}\n+++ b/{write_path}\n@@ ...",
            )
            await leaf(sim, f"write {write_path}", "file", 0.003, path=write_path, bytes=sim.rng.randint(400, 9000))
            passed = await leaf(
                sim, "pytest -x -q", "terminal", 2.0, fail_p=0.35 / (attempt + 1), command="pytest -x -q", exit_code=0
            )
            if passed:
                break
        if not passed:
            root.set_status("error", "tests still failing after 3 patches")
        else:
            await leaf(sim, "git commit", "terminal", 0.08, command=f"git commit -am '{task}'", exit_code=0)


_TOPICS = (
    "battery recycling economics",
    "EU AI Act obligations",
    "CRISPR off-target effects",
    "LLM evaluation methods",
    "grid-scale storage costs",
    "sodium-ion chemistry",
)


async def research_trace(sim: Sim, conv: Conversation) -> None:
    topic = sim.rng.choice(_TOPICS)
    await sim.gate()
    with at.agent(f"research: {topic}", topic=topic):
        await leaf(sim, "embed query", "embedding", 0.08, model="text-embedding-3-small")
        await leaf(sim, "vector search", "retrieval", 0.06, index="papers", top_k=20, hits=20)
        await leaf(sim, "rerank", "rerank", 0.12, model="rerank-v3.5", documents=20)
        for i in range(sim.rng.randint(2, 4)):
            url = f"https://example.org/{topic.split()[0].lower()}/{i}"
            await leaf(sim, f"GET {url}", "http", 0.6, fail_p=0.05, url=url, error="HTTP 503 Service Unavailable")
            await llm_call(
                sim,
                conv,
                "summarise source",
                "gemini-2.5-flash",
                "google",
                new_tokens=sim.rng.randint(2000, 9000),
                output_tokens=sim.rng.randint(150, 400),
                reasoning=sim.rng.randint(0, 600),
            )
        await leaf(sim, "save notes", "memory", 0.01, key=f"notes/{topic}")
        await llm_call(
            sim,
            conv,
            "write report",
            "gpt-4o",
            "openai",
            new_tokens=sim.rng.randint(1500, 5000),
            output_tokens=sim.rng.randint(600, 1600),
            prompt=f"Write a brief on {topic}.",
            answer=f"# {topic}\n\nKey findings: ...",
        )


_QUESTIONS = (
    "Where is my order?",
    "How do I reset my password?",
    "Can I get a refund?",
    "My invoice is wrong",
    "Cancel my subscription",
)


async def support_trace(sim: Sim, conv: Conversation) -> None:
    question = sim.rng.choice(_QUESTIONS)
    model, provider = conv.facts.setdefault(
        "model", sim.rng.choice((("claude-3-5-haiku", "anthropic"), ("gpt-4.1-mini", "openai")))
    )
    await sim.gate()
    with at.agent("answer ticket", channel="chat") as root:
        ok = await leaf(sim, "input guardrail", "guardrail", 0.03, fail_p=0.01, error="blocked: PII")
        if not ok:
            root.set_status("error", "blocked by guardrail")
            return
        await leaf(sim, "search help center", "retrieval", 0.05, index="kb", top_k=5, hits=5)
        if "order" in question or "refund" in question:
            await leaf(
                sim,
                "lookup_order",
                "tool",
                0.15,
                fail_p=0.03,
                order_id=f"A{sim.rng.randint(10000, 99999)}",
                error="orders API timeout",
            )
            await leaf(sim, "SELECT orders", "database", 0.01, table="orders")
        await llm_call(
            sim,
            conv,
            "reply",
            model,
            provider,
            new_tokens=sim.rng.randint(60, 300),
            output_tokens=sim.rng.randint(60, 250),
            prompt=question,
            answer="Thanks for reaching out! Here is what I found...",
        )
        if sim.chance(0.05):
            await leaf(sim, "handoff to human", "handoff", 0.01, queue="tier-2")


@dataclass(frozen=True)
class Service:
    name: str
    scenario: Callable[[Sim, Conversation], Awaitable[None]]
    system_tokens: tuple[int, int]
    traces_per_session: tuple[int, int]
    think_s: float  # median pause between a session's traces (simulated seconds)


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("coding-agent", coding_trace, (6000, 14000), (2, 6), 4.0),
        Service("research-agent", research_trace, (1500, 3000), (1, 3), 8.0),
        Service("support-bot", support_trace, (2500, 4500), (1, 4), 6.0),
    )
}


# --- one process: a service's sessions ----------------------------------------------


async def _session(sim: Sim, service: Service, session_id: str) -> None:
    with contextlib.suppress(_WindDown), at.session(session_id, user_id=f"user-{sim.rng.randint(1, 400):03d}"):
        await _traces(sim, service)


async def _traces(sim: Sim, service: Service) -> None:
    conv = Conversation(system_tokens=sim.rng.randint(*service.system_tokens))
    for _ in range(sim.rng.randint(*service.traces_per_session)):
        # --rate is enforced here, between traces, so spans inside a trace keep their
        # simulated timing: book the trace's expected spans, then true up afterwards.
        expected = sim.spans_per_trace
        await sim.limiter.acquire(expected, stop=lambda: sim.stopping)
        if sim.stopping:
            return
        counter = [0]
        _trace_spans.set(counter)
        with contextlib.suppress(DemoError):
            await service.scenario(sim, conv)
        actual = counter[0]
        sim.limiter.adjust(actual - expected)
        sim.spans_per_trace += (actual - sim.spans_per_trace) * 0.1
        await sim.work(service.think_s, 0.6)


async def run_service(service: Service, rate: float, duration_s: float, seed: int, speed: float = 1.0) -> int:
    """Run ``service``'s sessions at up to ``rate`` spans/s for ``duration_s`` (0: forever),
    simulating ``speed`` times faster than real time. Returns the number of spans started."""
    rng = random.Random(seed)
    sim = Sim(rng=rng, limiter=RateLimiter(rate), speed=speed)
    sessions: set[asyncio.Task[None]] = set()
    # Past ~60 sessions per service the table stops being readable: simulate faster instead.
    max_sessions = max(4, min(60, int(1.5 * rate)))
    # A session runs about a span a second; start below that and let the controller add more.
    target = max(2, min(max_sessions, int(rate / 3)))
    deadline = time.monotonic() + duration_s if duration_s > 0 else math.inf
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    last_spans, last_t, last_waits = 0, time.monotonic(), 0
    while time.monotonic() < deadline and not stop.is_set():
        while len(sessions) < target:
            sid = f"{service.name[:4]}-{rng.getrandbits(32):08x}"
            task = asyncio.create_task(_session(sim, service, sid))
            sessions.add(task)
            task.add_done_callback(sessions.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(1.0, max(0.0, deadline - time.monotonic())))
        now = time.monotonic()
        achieved = (sim.spans - last_spans) / max(1e-6, now - last_t)
        # Sessions queued for budget: the limiter, not the sessions, sets the pace.
        bound = sim.limiter.waits > last_waits
        last_spans, last_t, last_waits = sim.spans, now, sim.limiter.waits
        if bound:
            if sim.speed > 1.0:
                sim.speed = max(speed, sim.speed * 0.9)  # drift back towards the asked pace
        elif achieved < 0.9 * rate:
            if target < max_sessions:
                target = min(max_sessions, target + max(1, target // 2))
            else:  # out of sessions: simulate faster, in proportion to the shortfall
                sim.speed = min(10_000.0, sim.speed * min(2.0, max(1.1, rate / max(achieved, 1.0))))
    # Wind down: traces in flight finish at once (their spans end normally), none start.
    sim.stopping = True
    if sessions:
        await asyncio.wait(set(sessions), timeout=5)
    for task in list(sessions):
        task.cancel()
    await asyncio.gather(*sessions, return_exceptions=True)
    return sim.spans


def _child(service_name: str, rate: float, duration_s: float, seed: int, speed: float, endpoint: str, out: Any) -> None:
    at.configure(service=service_name, endpoint=endpoint, environment="demo")
    started = asyncio.run(run_service(SERVICES[service_name], rate, duration_s, seed, speed))
    at.flush(timeout=5)
    stats = at.stats()
    out.put((service_name, started, stats.get("sent", 0), stats.get("dropped_total", 0)))


# --- many processes ---------------------------------------------------------------------


def run_demo(
    *,
    rate: float,
    duration_s: float,
    endpoint: str = DEFAULT_ENDPOINT,
    seed: int | None = None,
    services: list[str] | None = None,
    processes: int | None = None,
    speed: float = 1.0,
    report: Callable[[str], None] = print,
) -> dict[str, int]:
    """Run the demo (blocking) and return ``{"started": n, "sent": n, "dropped": n, "seed": n}``.

    Without a ``seed`` each run draws a fresh one (and reports it), so two runs never share
    session or user ids; the same seed repeats the same mix of traffic."""
    if seed is None:
        seed = secrets.randbelow(1 << 31)
    names = services or list(SERVICES)
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r}: choose from {', '.join(SERVICES)}")
    nproc = max(len(names), processes or len(names))
    plan = [names[i % len(names)] for i in range(nproc)]
    ctx = mp.get_context("fork")  # the SDK is fork-safe: each child gets its own sender id
    out = ctx.Queue()
    children = [
        ctx.Process(
            target=_child, args=(name, rate / nproc, duration_s, seed * 1000 + i, speed, endpoint, out), daemon=True
        )
        for i, name in enumerate(plan)
    ]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    for c in children:
        c.start()
    report(
        f"demo: {nproc} processes ({', '.join(plan)}) → {endpoint}, {rate:g} spans/s"
        + (f" for {duration_s:g}s" if duration_s else " until Ctrl-C")
        + f", seed {seed}"
    )
    totals = {"started": 0, "sent": 0, "dropped": 0, "seed": seed}
    try:
        for c in children:
            c.join()
    except KeyboardInterrupt:
        for c in children:  # they got the SIGINT too; give them time to flush
            c.join(10)
    while not out.empty():
        _, started, sent, dropped = out.get()
        totals["started"] += started
        totals["sent"] += sent
        totals["dropped"] += dropped
    elapsed = time.monotonic() - began
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    report(f"demo: {totals['started']} spans started, {totals['sent']} sent, {totals['dropped']} dropped by the SDK")
    shortfall = rate_shortfall(rate, totals["started"], elapsed, cpu_s, nproc)
    if shortfall:
        report(f"demo: {shortfall}")
    report(f"demo: seed {seed} (--seed {seed} repeats this traffic)")
    return totals


def rate_shortfall(rate: float, started: int, elapsed_s: float, cpu_s: float, processes: int) -> str | None:
    """Say what rate a run reached and why, when it fell short of the asked ``rate``."""
    achieved = started / max(elapsed_s, 1e-9)
    if achieved >= 0.9 * rate:
        return None
    reached = f"reached {achieved:,.0f} of the asked {rate:,.0f} spans/s"
    cores = os.cpu_count() or 1
    if cpu_s >= 0.8 * elapsed_s * min(processes, cores):
        return (
            f"{reached}: the {processes} sender processes were CPU-bound ({cpu_s:.1f} s of CPU in "
            f"{elapsed_s:.1f} s on {cores} cores); use --replay to load-test beyond what Python "
            "can generate span by span"
        )
    return (
        f"{reached}: sessions ramp up over the first seconds and each simulates real model latency; "
        "run longer, or give --speed N to simulate N times faster than real time"
    )


# --- replay: pre-encoded datagrams at high rates ----------------------------------------------


def capture(seconds: float, *, seed: int | None = 1, rate: float = 20_000.0, speed: float = 1.0) -> list[bytes]:
    """Record ``seconds`` of demo traffic as the SDK sends it (datagrams on a local socket)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    endpoint = f"udp://127.0.0.1:{sock.getsockname()[1]}"
    got: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                got.append(sock.recv(65536))
            except TimeoutError:
                continue

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    run_demo(rate=rate, duration_s=seconds, endpoint=endpoint, seed=seed, speed=speed, report=lambda _: None)
    time.sleep(0.3)
    done.set()
    t.join()
    sock.close()
    return got


def replay(datagrams: list[bytes], *, endpoint: str, rate: float, duration_s: float, sender_id: int) -> int:
    """Resend ``datagrams`` cyclically at ``rate`` spans/s for ``duration_s`` with fresh sequence
    numbers under ``sender_id``. Returns the number of spans sent."""
    host, _, port = endpoint.removeprefix("udp://").rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((host, int(port)))
    frames = [(bytearray(d), wire.decode_header(d).span_count) for d in datagrams]
    sent = seq = 0
    start = time.monotonic()
    end = start + duration_s
    while True:
        for frame, count in frames:
            # Header: magic, version, flags, span_count, reserved, sender_id, seq (wire.HEADER).
            magic, version, flags, n, reserved, _, _ = wire.HEADER.unpack_from(frame)
            wire.HEADER.pack_into(frame, 0, magic, version, flags, n, reserved, sender_id, seq)
            seq += 1
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
                sock.send(frame)
            sent += count
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0.002:
                time.sleep(ahead)
            if time.monotonic() >= end:
                sock.close()
                return sent


def _replay_child(datagrams: list[bytes], endpoint: str, rate: float, duration_s: float, sender_id: int, out) -> None:
    out.put(replay(datagrams, endpoint=endpoint, rate=rate, duration_s=duration_s, sender_id=sender_id))


def run_replay(
    *, rate: float, duration_s: float, endpoint: str, seed: int, processes: int, report: Callable[[str], None] = print
) -> int:
    """Capture a few seconds of demo traffic, then resend it from ``processes`` senders."""
    datagrams = capture(3.0, seed=seed)
    if not datagrams:
        raise RuntimeError("captured no datagrams")
    spans = sum(wire.decode_header(d).span_count for d in datagrams)
    report(
        f"replay: captured {len(datagrams)} datagrams ({spans} spans); sending {rate:g} spans/s from "
        f"{processes} processes for {duration_s:g}s → {endpoint}"
    )
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    base = random.Random(seed).getrandbits(40) << 16
    children = [
        ctx.Process(target=_replay_child, args=(datagrams, endpoint, rate / processes, duration_s, base + i, out))
        for i in range(processes)
    ]
    for c in children:
        c.start()
    for c in children:
        c.join()
    total = sum(out.get() for _ in children if not out.empty())
    report(f"replay: sent {total} spans ({total / max(duration_s, 1e-9):,.0f}/s)")
    return total


# --- the command ------------------------------------------------------------------------------


def demo(
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Spans per second, all services together.")] = 50.0,
    duration: Annotated[float, typer.Option("--duration", min=0, help="Seconds to run; 0 runs until Ctrl-C.")] = 0.0,
    endpoint: Annotated[
        str,
        typer.Option("--endpoint", envvar="AGENTTRACE_ENDPOINT", help="Collector: udp://HOST:PORT or unix:///PATH."),
    ] = DEFAULT_ENDPOINT,
    seed: Annotated[
        int | None,
        typer.Option("--seed", metavar="N", help="Repeat a run that printed this seed (default: a fresh one)."),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0.01, metavar="N", help="Simulate N times faster than real time.")
    ] = 1.0,
    services: Annotated[
        str, typer.Option("--services", help="Comma-separated: coding-agent,research-agent,support-bot.")
    ] = ",".join(SERVICES),
    processes: Annotated[int, typer.Option("--processes", min=0, help="Sender processes (0: one per service).")] = 0,
    replay_mode: Annotated[
        bool, typer.Option("--replay", help="Load test: capture 3 s of traffic, then resend it at --rate (UDP only).")
    ] = False,
) -> None:
    """Send realistic simulated agent traffic to a collector (no API keys needed)."""
    names = [s.strip() for s in services.split(",") if s.strip()]
    try:
        if replay_mode:
            if not endpoint.startswith("udp://"):
                raise ValueError("--replay sends over UDP: give --endpoint udp://HOST:PORT")
            run_replay(
                rate=rate,
                duration_s=duration or 60.0,
                endpoint=endpoint,
                seed=secrets.randbelow(1 << 31) if seed is None else seed,
                processes=processes or os.cpu_count() or 1,
            )
        else:
            run_demo(
                rate=rate,
                duration_s=duration,
                endpoint=endpoint,
                seed=seed,
                services=names,
                processes=processes or None,
                speed=speed,
            )
    except ValueError as exc:
        typer.echo(f"agenttrace demo: {exc}", err=True)
        raise typer.Exit(2) from None
