"""Synthetic agent traffic shaped like the real thing, for benchmarks, demos and tests.

Sessions of a coding or support agent: each session holds a few traces (one per user
turn); a trace is an ``agent`` root span with a loop of LLM calls (realistic models,
token counts with cache reads, priced), tool calls (``read_file``, ``bash``,
``web_search``...) with their previews and attributes, now and then a retrieval, a
guardrail, a failed tool or a rate-limited model call. Deterministic for a seed.

>>> spans = list(generate_spans(200, seed=1))
>>> len(spans), spans[0].kind
(200, 'agent')
>>> sum(s.kind == "llm" for s in spans) > 40
True
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from agenttrace.model import Span, Usage

__all__ = ["MODELS", "generate_spans"]

# model: (provider, $ per 1M input, $ per 1M output, $ per 1M cache read, weight, median latency s)
MODELS: dict[str, tuple[str, float, float, float, float, float]] = {
    "claude-sonnet-4-5": ("anthropic", 3.0, 15.0, 0.30, 30, 6.0),
    "claude-haiku-4-5": ("anthropic", 1.0, 5.0, 0.10, 15, 2.0),
    "claude-opus-4-1": ("anthropic", 15.0, 75.0, 1.50, 3, 14.0),
    "gpt-4o": ("openai", 2.5, 10.0, 1.25, 20, 4.0),
    "gpt-4o-mini": ("openai", 0.15, 0.60, 0.075, 15, 1.5),
    "o3": ("openai", 2.0, 8.0, 0.50, 5, 20.0),
    "gemini-2.5-pro": ("google", 1.25, 10.0, 0.31, 8, 8.0),
    "gemini-2.5-flash": ("google", 0.30, 2.50, 0.075, 4, 2.5),
}
_TOOLS = (
    ("read_file", "file", 0.02),
    ("write_file", "file", 0.03),
    ("bash", "terminal", 1.5),
    ("grep", "tool", 0.15),
    ("web_search", "tool", 1.2),
    ("fetch_url", "http", 0.8),
    ("run_tests", "terminal", 12.0),
    ("query_db", "database", 0.3),
    ("list_dir", "file", 0.01),
    ("edit_file", "file", 0.05),
)
_SERVICES = ("coding-agent", "support-bot", "research-agent", "triage-worker")
_ENVS = ("prod", "prod", "prod", "staging")
_PROMPTS = (
    "Fix the failing test in tests/test_parser.py and explain the root cause",
    "Summarise the customer's last three tickets and draft a reply",
    "Find recent papers on speculative decoding and compare their speedups",
    "Why does the nightly build fail on ARM? Look at the CI logs",
    "Refactor the billing module to use the new pricing API",
)
_OUTPUTS = (
    "I found the issue: the tokenizer drops the trailing newline. Here is the patch...",
    "Done. I updated 3 files and all 214 tests pass.",
    "The build fails because the cross-compiler image lacks libssl-dev; adding it to the Dockerfile.",
    "Here is a summary of the findings with links to each source.",
)
_NS = 1_000_000_000


def _lognormal_s(rng: random.Random, median_s: float, sigma: float = 0.6) -> int:
    return max(1000, int(rng.lognormvariate(0.0, sigma) * median_s * _NS))


def generate_spans(
    n: int,
    *,
    seed: int = 0,
    start_ns: int = 1_763_683_200 * _NS,  # 2025-11-21T00:00:00Z
    span_rate_per_s: float = 50.0,
) -> Iterator[Span]:
    """Yield ``n`` spans of synthetic agent traffic, trace after trace.

    Traces start at about ``span_rate_per_s`` spans per second of simulated time from
    ``start_ns``, so 1M spans cover about 5.6 hours by default. A trace's spans come
    out together, parent first, roughly as the collector would receive them.
    """
    rng = random.Random(seed)
    model_names = list(MODELS)
    weights = [MODELS[m][4] for m in model_names]
    emitted = 0
    t = start_ns
    session_left = 0
    session_id = user = service = env = ""
    while emitted < n:
        if session_left == 0:
            session_left = rng.randint(1, 6)
            session_id = f"sess-{rng.getrandbits(48):012x}"
            user = f"user-{rng.randint(1, 400)}"
            service = rng.choice(_SERVICES)
            env = rng.choice(_ENVS)
        session_left -= 1
        trace_id = rng.randbytes(16)
        root_id = rng.randbytes(8)
        model = rng.choices(model_names, weights)[0]
        provider, p_in, p_out, p_cache, _, median_s = MODELS[model]
        steps = min(rng.randint(2, 25), max(1, (n - emitted - 1) // 2) or 1)
        cursor = t
        children: list[Span] = []
        context = rng.randint(2_000, 12_000)  # prompt tokens grow with every step
        for step in range(steps):
            if emitted + 1 + len(children) >= n:
                break
            # one model call
            out_tok = int(rng.lognormvariate(5.5, 0.9))
            reasoning = int(out_tok * rng.random() * 0.6) if model in ("o3", "claude-opus-4-1") else 0
            cached = int(context * rng.uniform(0.5, 0.95)) if step else 0
            in_tok = context
            d = _lognormal_s(rng, median_s * (0.5 + out_tok / 800))
            failed = rng.random() < 0.01
            cost = (in_tok - cached) * p_in / 1e6 + cached * p_cache / 1e6 + out_tok * p_out / 1e6
            children.append(
                Span(
                    trace_id=trace_id,
                    span_id=rng.randbytes(8),
                    parent_id=root_id,
                    name=f"chat {model}",
                    start_ns=cursor,
                    end_ns=cursor + d,
                    kind="llm",
                    status=2 if failed else 1,
                    status_message="rate_limit_error: 429 Too Many Requests" if failed else "",
                    session_id=session_id,
                    service=service,
                    user_id=user,
                    environment=env,
                    model=model,
                    provider=provider,
                    usage=Usage(
                        input_tokens=in_tok,
                        output_tokens=out_tok,
                        cache_read_tokens=cached,
                        reasoning_tokens=reasoning,
                    ),
                    cost_usd=0.0 if failed else round(cost, 8),
                    cost_source="catalogue",
                    attributes={
                        "gen_ai.request.temperature": 0.2,
                        "gen_ai.request.max_tokens": 4096,
                        "gen_ai.response.finish_reason": "tool_use" if step < steps - 1 else "end_turn",
                    },
                    output_preview=rng.choice(_OUTPUTS)[: rng.randint(20, 80)],
                )
            )
            cursor += d
            context += out_tok + rng.randint(200, 3_000)
            if emitted + 1 + len(children) >= n or step == steps - 1:
                break
            # the tool the model asked for
            tool, kind, tool_median = rng.choice(_TOOLS)
            d = _lognormal_s(rng, tool_median, 1.0)
            failed = rng.random() < 0.04
            children.append(
                Span(
                    trace_id=trace_id,
                    span_id=rng.randbytes(8),
                    parent_id=root_id,
                    name=tool,
                    start_ns=cursor,
                    end_ns=cursor + d,
                    kind=kind,
                    status=2 if failed else 1,
                    status_message="exit status 1" if failed else "",
                    session_id=session_id,
                    service=service,
                    user_id=user,
                    environment=env,
                    attributes={
                        "tool.call_id": f"toolu_{rng.getrandbits(64):016x}",
                        "tool.args_bytes": rng.randint(20, 900),
                    },
                    input_preview=f'{{"path": "src/module_{rng.randint(1, 300)}.py"}}',
                    output_preview="ok" if not failed else "Traceback (most recent call last): ...",
                )
            )
            cursor += d
        root = Span(
            trace_id=trace_id,
            span_id=root_id,
            name=f"{service} turn",
            start_ns=t,
            end_ns=max(cursor, t + 1000),
            kind="agent",
            status=2 if any(c.status == 2 for c in children[-1:]) else 1,
            session_id=session_id,
            service=service,
            user_id=user,
            environment=env,
            tags=["synthetic"],
            input_preview=rng.choice(_PROMPTS),
            output_preview=rng.choice(_OUTPUTS),
        )
        yield root
        emitted += 1
        yield from children
        emitted += len(children)
        t += int(rng.expovariate(span_rate_per_s / (1 + len(children))) * _NS)
