"""A real collector for the dashboard tests, fed by the SDK, the demo and raw datagrams.

:class:`Collector` runs ``agenttrace-collector`` in a subprocess on free loopback ports.
:func:`fill` sends it a small SDK workload with known ids (``SDK_WORKLOAD``), a few
seconds of ``agenttrace demo`` and one 10,000-span trace, and waits until all of it is
stored.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from agenttrace.model import Span, Usage
from agenttrace.wire import batch

BIN = Path(sys.executable).parent

SDK_WORKLOAD = r"""
import json, sys, time
import agenttrace as at

endpoint = sys.argv[1]
ids = {}

def tid(s):
    return s.traceparent.split("-")[1]

at.configure(service="shop-agent", endpoint=endpoint, environment="test", tags=["checkout"], capture_content=True)
with at.session("sess-alpha", user_id="alice"):
    with at.agent("answer customer", **{"vcs.ref.head.revision": "abc1234"}) as root:
        ids["refund"] = tid(root)
        with at.llm("plan", model="gpt-4o", provider="openai") as g:
            time.sleep(0.02)
            g.set_usage(input_tokens=1000, output_tokens=200, cache_read_tokens=400)
            g.set_output("Look the order up, then refund it.")
        with at.tool("lookup_order", order="A-17"):
            time.sleep(0.01)
        try:
            with at.tool("refund"):
                time.sleep(0.005)
                raise TimeoutError("payment gateway timeout")
        except TimeoutError:
            pass

at.configure(service="research-agent", endpoint=endpoint, environment="staging", tags=[])
with at.session("sess-beta", user_id="bob"):
    with at.agent("research") as root:
        ids["research"] = tid(root)
        with at.llm("search plan", model="gpt-4o-mini", provider="openai") as g:
            g.set_usage(input_tokens=500, output_tokens=50)
        with at.llm("summarise", model="mystery-model-9000", provider="acme") as g:
            g.set_usage(input_tokens=100, output_tokens=10)

# A coding session whose model call led to a commit (the Costs view's "By commit").
at.configure(service="coding-agent", endpoint=endpoint, environment="test", tags=[])
with at.session("sess-gamma", user_id="carol"):
    with at.agent("fix parser"):
        with at.llm("patch", model="gpt-4o", provider="openai") as g:
            g.set_usage(input_tokens=2000, output_tokens=300)
        at.git_link("abc1234ef0123456789abcdef0123456789abcde", message="fix parser", repo="shop")

assert at.flush(timeout=5.0), at.stats()
print(json.dumps(ids))
"""
SDK_SPANS = 10


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """``agenttrace-collector`` on free loopback ports, one worker, its log in a file."""

    def __init__(self, base: Path, *, api_key: str | None = None) -> None:
        self.data_dir = base / "store"
        self.udp_port, http_port = free_port(socket.SOCK_DGRAM), free_port()
        self.url = f"http://127.0.0.1:{http_port}"
        self.api_key = api_key
        self.log_path = base / "collector.log"
        env = {k: v for k, v in os.environ.items() if k != "AGENTTRACE_API_KEY"}
        if api_key:
            env["AGENTTRACE_API_KEY"] = api_key
        self._senders = 0
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "agenttrace-collector"),
                    *("--data-dir", str(self.data_dir), "--udp", f"127.0.0.1:{self.udp_port}"),
                    *("--http", f"127.0.0.1:{http_port}", "--unix", "off", "--workers", "1"),
                    *("--log-level", "warning"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while "ready" not in self.log_path.read_text(errors="replace").split():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("collector did not start:\n" + self.log_path.read_text())
            time.sleep(0.1)

    @property
    def endpoint(self) -> str:
        return f"udp://127.0.0.1:{self.udp_port}"

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        hdrs = dict(headers or {})
        if self.api_key and "Authorization" not in hdrs:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url + path, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    def json(self, path: str) -> dict:
        status, _, body = self.get(path)
        assert status == 200, (status, body[:500])
        return json.loads(body)

    def stored(self) -> int:
        return self.json("/api/v1/metrics/summary")["spans"]

    def wait_stored(self, at_least: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while (n := self.stored()) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {n} of {at_least} spans stored within {timeout}s")
            time.sleep(0.2)

    def send(self, spans: list[Span]) -> None:
        """Raw datagrams from a fresh sender id, paced so loopback never overflows."""
        self._senders += 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i, d in enumerate(batch(spans, sender_id=0x5EB0000 + self._senders, seq=0)):
                sock.sendto(d, ("127.0.0.1", self.udp_port))
                if i % 50 == 49:
                    time.sleep(0.005)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_sdk_workload(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTTRACE_API_KEY"}
    run = subprocess.run(
        [sys.executable, "-c", SDK_WORKLOAD, endpoint], capture_output=True, timeout=60, env=env, check=False
    )
    assert run.returncode == 0, run.stderr.decode()
    return json.loads(run.stdout.decode().strip().splitlines()[-1])


def run_demo(endpoint: str, seconds: float = 3.0, rate: float = 300.0, speed: float = 20.0) -> int:
    """``agenttrace demo`` for a few seconds (simulated ``speed`` times faster, so whole
    sessions fit in them); the spans it sent."""
    run = subprocess.run(
        [
            str(BIN / "agenttrace"),
            *("demo", "--duration", str(seconds), "--rate", str(rate), "--speed", str(speed)),
            *("--seed", "7", "--endpoint", endpoint),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = run.stdout.decode() + run.stderr.decode()
    assert run.returncode == 0, out
    m = re.search(r"(\d+) sent", out)
    assert m, out
    return int(m.group(1))


def history(minutes: int = 14, per_minute: int = 30, *, seed: int = 3) -> list[Span]:
    """Model and tool calls spread over the last ``minutes`` (no session), so the
    overview's charts have a shape to show; about 4 % are errors."""
    rng = random.Random(seed)
    now = time.time_ns()
    models = [("gpt-4o", "openai"), ("claude-sonnet-4-5", "anthropic"), ("gpt-4o-mini", "openai")]
    services = ["coding-agent", "research-agent", "support-bot"]
    out = []
    for m in range(minutes, 0, -1):
        wave = 1.0 + 0.6 * math.sin(m / 2.5)
        for _ in range(int(per_minute * wave)):
            start = now - m * 60_000_000_000 + rng.randrange(60_000_000_000)
            llm = rng.random() < 0.5
            model, provider = rng.choice(models) if llm else ("", "")
            dur = int(rng.lognormvariate(6.5 if llm else 3.5, 0.6) * 1_000_000)
            err = rng.random() < 0.04 * wave
            out.append(
                Span(
                    trace_id=os.urandom(16),
                    span_id=os.urandom(8),
                    name="answer" if llm else rng.choice(["search_docs", "run_tests", "read_file"]),
                    start_ns=start,
                    end_ns=start + dur,
                    kind="llm" if llm else "tool",
                    status=2 if err else 1,
                    status_message="rate limited" if err else "",
                    service=rng.choice(services),
                    model=model,
                    provider=provider,
                    usage=Usage(input_tokens=rng.randrange(500, 6000), output_tokens=rng.randrange(50, 800))
                    if llm
                    else None,
                )
            )
    return out


def big_trace(n: int = 10_000, *, service: str = "big-agent") -> tuple[str, list[Span]]:
    """One trace of ``n`` spans: a root agent, sub-agents of 100 children each (llm and tool)."""
    tid = os.urandom(16)
    now = time.time_ns() - 2 * 3600 * 1_000_000_000  # two hours ago: outside the overview's 15 minutes
    root = Span(trace_id=tid, span_id=os.urandom(8), name="big run", start_ns=now, end_ns=now + 50_000_000_000)
    root.kind, root.service, root.session_id = "agent", service, "sess-big"
    spans = [root]
    i = 0
    while len(spans) < n:
        agent_start = now + i * 400_000_000
        agent = Span(
            trace_id=tid,
            span_id=os.urandom(8),
            name=f"worker {i}",
            start_ns=agent_start,
            end_ns=agent_start + 390_000_000,
            parent_id=root.span_id,
            kind="agent",
            service=service,
            session_id="sess-big",
        )
        spans.append(agent)
        for j in range(min(100, n - len(spans))):
            st = agent_start + j * 3_000_000
            llm = j % 2 == 0
            spans.append(
                Span(
                    trace_id=tid,
                    span_id=os.urandom(8),
                    name=f"call {i}.{j}",
                    start_ns=st,
                    end_ns=st + 2_500_000,
                    parent_id=agent.span_id,
                    kind="llm" if llm else "tool",
                    service=service,
                    session_id="sess-big",
                    model="gpt-4o-mini" if llm else "",
                    usage=Usage(input_tokens=50, output_tokens=5) if llm else None,
                )
            )
        i += 1
    return tid.hex(), spans


CHROMIUM = os.environ.get("AGENTTRACE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
API_KEY = "web-test-key-0123456789"


class PageWatch:
    """What a page did that a user would call broken: console errors, uncaught
    exceptions, failed requests, and any request to a host other than the collector."""

    def __init__(self, page: object, allowed_netloc: str) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.urls: list[str] = []
        self.allowed = allowed_netloc
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("request", self._request)

    def _console(self, msg: object) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def _request(self, req: object) -> None:
        self.urls.append(req.url)
        parts = urlsplit(req.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.allowed:
            self.foreign.append(req.url)

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], "\n".join(self.errors)


def open_page(browser: object, base_url: str) -> tuple[object, object, PageWatch]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="dark")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    return ctx, page, PageWatch(page, urlsplit(base_url).netloc)
