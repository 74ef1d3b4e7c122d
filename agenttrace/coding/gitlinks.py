"""What led to a commit: the sessions, traces, tokens and cost behind git-link spans.

A git-link span (``at.git_link``; ``agenttrace wrap`` records one per commit made during
a run) carries ``git.commit``. This module answers, through the query engine's public
methods only (:meth:`iter_spans`, :meth:`session`):

* :func:`commit_report` — one commit: the sessions whose spans link it (with their
  totals), their traces, and the tokens and cost attributed to the commit;
* :func:`commit_costs` — ``costs --by commit``: every linked commit with its cost;
* :func:`session_activity` — a session's files touched, commands run and commits.

Attribution: within a session, a model call is attributed to the first commit made at or
after the call ended (by the commit's own time, ``git.commit_time``, else the link's);
calls after a session's last commit are attributed to no commit. So a session that made
three commits splits its cost among them by when the work happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from agenttrace.errors import NotFoundError
from agenttrace.model import Span
from agenttrace.query import SessionSummary, SpanFilter, TokenTotals

__all__ = [
    "CommitCost",
    "CommitCostReport",
    "CommitReport",
    "SessionActivity",
    "commit_costs",
    "commit_report",
    "session_activity",
]

MIN_SHA_PREFIX = 4


class CommitCost(msgspec.Struct, kw_only=True):
    commit: str
    message: str
    repo: str
    sessions: int
    spans: int  # model calls attributed to the commit
    tokens: TokenTotals
    cost_usd: float
    share: float  # of the attributed total, 0..1


class CommitCostReport(msgspec.Struct, kw_only=True):
    by: str = "commit"
    since_ns: int | None = None
    until_ns: int | None = None
    rows: list[CommitCost]  # highest cost first
    total_cost_usd: float
    unattributed_cost_usd: float  # linked sessions' calls after their last commit


class CommitReport(msgspec.Struct, kw_only=True):
    commit: str
    message: str
    repo: str
    commit_time_ns: int | None
    files: list[str]
    lines_added: int
    lines_removed: int
    sessions: list[SessionSummary]  # each linking session's own totals
    traces: list[str]  # the traces of those sessions, as 32 hex digits
    spans: int  # model calls attributed to this commit
    tokens: TokenTotals  # attributed to this commit
    cost_usd: float  # attributed to this commit


class SessionActivity(msgspec.Struct, kw_only=True):
    files: list[dict[str, Any]]  # path, operations, lines_added, lines_removed
    commands: list[dict[str, Any]]  # command, exit_code, start_ns
    commits: list[dict[str, Any]]  # commit, message, files, lines_added, lines_removed


class _Link(msgspec.Struct):
    sha: str
    session: str
    time_ns: int
    message: str
    repo: str
    files: list[str]
    added: int
    removed: int


def _link(span: Span) -> _Link | None:
    a = span.attributes
    sha = a.get("git.commit")
    if not isinstance(sha, str) or not sha:
        return None
    commit_time = a.get("git.commit_time")
    if isinstance(commit_time, (int, float)) and commit_time > 0:
        # git keeps whole seconds: the commit happened somewhere in that second, so work
        # that ended within it is taken as done before it.
        t = int(commit_time) * 1_000_000_000 + 999_999_999
    else:
        t = span.end_ns
    files = a.get("git.files")
    return _Link(
        sha=sha.lower(),
        session=span.session_id,
        time_ns=t,
        message=str(a.get("git.message") or ""),
        repo=str(a.get("git.repo") or ""),
        files=[str(f) for f in files] if isinstance(files, list) else [],
        added=int(a.get("git.lines_added") or 0),
        removed=int(a.get("git.lines_removed") or 0),
    )


def _links(engine: Any) -> list[_Link]:
    # Git links are kind "event" spans named "git commit <sha>"; the name filter lets the
    # store skip most rows before attributes are decoded.
    found = []
    for span in engine.iter_spans(SpanFilter(kind="event", name_contains="git commit ")):
        link = _link(span)
        if link is not None:
            found.append(link)
    return found


class _Tally:
    __slots__ = ("cost", "spans", "tokens")

    def __init__(self) -> None:
        self.spans = 0
        self.cost = 0.0
        self.tokens = [0, 0, 0, 0, 0]

    def add(self, span: Span) -> None:
        self.spans += 1
        self.cost += span.cost_usd or 0.0
        u = span.usage
        if u is not None:
            for i, v in enumerate(
                (u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.reasoning_tokens)
            ):
                self.tokens[i] += v

    def totals(self) -> TokenTotals:
        i, o, r, w, z = self.tokens
        return TokenTotals(
            input_tokens=i,
            output_tokens=o,
            cache_read_tokens=r,
            cache_write_tokens=w,
            reasoning_tokens=z,
            total_tokens=i + o,
        )


def _attribute(
    engine: Any, session: str, links: list[_Link], since_ns: int | None = None, until_ns: int | None = None
) -> tuple[dict[str, _Tally], _Tally]:
    """Split one session's model calls among its commits (see the module docstring)."""
    ordered = sorted({link.sha: link for link in links}.values(), key=lambda link: link.time_ns)
    tallies = {link.sha: _Tally() for link in ordered}
    rest = _Tally()
    flt = SpanFilter(session_id=session, since_ns=since_ns, until_ns=until_ns)
    for span in engine.iter_spans(flt):
        if span.usage is None and not span.cost_usd:
            continue
        target = next((link.sha for link in ordered if link.time_ns >= span.end_ns), None)
        (tallies[target] if target is not None else rest).add(span)
    return tallies, rest


def _by_session(links: Iterable[_Link]) -> dict[str, list[_Link]]:
    out: dict[str, list[_Link]] = {}
    for link in links:
        out.setdefault(link.session, []).append(link)
    return out


def _resolve(links: list[_Link], sha: str) -> str:
    sha = sha.strip().lower()
    if len(sha) < MIN_SHA_PREFIX or any(c not in "0123456789abcdef" for c in sha):
        raise ValueError(f"{sha!r} is not a commit: give at least {MIN_SHA_PREFIX} hex digits of its sha")
    full = {link.sha for link in links if link.sha.startswith(sha)}
    if not full:
        raise NotFoundError(f"no session links commit {sha}")
    if len(full) > 1:
        raise ValueError(f"{sha} is ambiguous: it starts {', '.join(sorted(full))}")
    return full.pop()


def commit_report(engine: Any, sha: str) -> CommitReport:
    """The sessions, traces, tokens and cost that led to commit ``sha`` (a prefix of at
    least 4 hex digits). Raises :class:`~agenttrace.errors.NotFoundError` when no
    session links it."""
    links = _links(engine)
    full = _resolve(links, sha)
    mine = [link for link in links if link.sha == full]
    first = max(mine, key=lambda link: (len(link.files), link.message != ""))
    sessions: list[SessionSummary] = []
    traces: list[str] = []
    attributed = _Tally()
    by_session = _by_session(links)
    for session in sorted({link.session for link in mine}):
        detail = engine.session(session)
        sessions.append(detail.summary)
        traces.extend(t.trace_id for t in detail.traces)
        tallies, _ = _attribute(engine, session, by_session[session])
        t = tallies[full]
        attributed.spans += t.spans
        attributed.cost += t.cost
        attributed.tokens = [a + b for a, b in zip(attributed.tokens, t.tokens, strict=True)]
    return CommitReport(
        commit=full,
        message=first.message,
        repo=first.repo,
        commit_time_ns=first.time_ns,
        files=first.files,
        lines_added=first.added,
        lines_removed=first.removed,
        sessions=sessions,
        traces=traces,
        spans=attributed.spans,
        tokens=attributed.totals(),
        cost_usd=attributed.cost,
    )


def _plus(a: TokenTotals, b: TokenTotals) -> TokenTotals:
    return TokenTotals(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_read_tokens=a.cache_read_tokens + b.cache_read_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        reasoning_tokens=a.reasoning_tokens + b.reasoning_tokens,
        total_tokens=a.total_tokens + b.total_tokens,
    )


def commit_costs(engine: Any, since_ns: int | None = None, until_ns: int | None = None) -> CommitCostReport:
    """Every linked commit with the tokens and cost attributed to it, highest cost first
    (model calls that started in ``[since_ns, until_ns)``)."""
    links = _links(engine)
    rows: dict[str, CommitCost] = {}
    unattributed = 0.0
    for session, session_links in _by_session(links).items():
        tallies, rest = _attribute(engine, session, session_links, since_ns, until_ns)
        unattributed += rest.cost
        for link in {link.sha: link for link in session_links}.values():
            t = tallies[link.sha]
            row = rows.setdefault(
                link.sha,
                CommitCost(
                    commit=link.sha,
                    message=link.message,
                    repo=link.repo,
                    sessions=0,
                    spans=0,
                    tokens=TokenTotals(),
                    cost_usd=0.0,
                    share=0.0,
                ),
            )
            row.sessions += 1
            row.spans += t.spans
            row.cost_usd += t.cost
            row.tokens = _plus(row.tokens, t.totals())
    total = sum(r.cost_usd for r in rows.values())
    for r in rows.values():
        r.share = r.cost_usd / total if total > 0 else 0.0
    ordered = sorted(rows.values(), key=lambda r: (-r.cost_usd, r.commit))
    return CommitCostReport(
        since_ns=since_ns, until_ns=until_ns, rows=ordered, total_cost_usd=total, unattributed_cost_usd=unattributed
    )


def session_activity(engine: Any, session_id: str) -> SessionActivity:
    """The files a session touched, the commands it ran and the commits it linked
    (from file, terminal and git-link spans; tool spans mapped from agents' logs and
    transcripts carry the same attributes)."""
    files: dict[str, dict[str, Any]] = {}
    commands: list[dict[str, Any]] = []
    commits: dict[str, dict[str, Any]] = {}
    for span in engine.iter_spans(SpanFilter(session_id=session_id)):
        a = span.attributes
        path = a.get("file.path")
        if isinstance(path, str):
            f = files.setdefault(path, {"path": path, "operations": [], "lines_added": 0, "lines_removed": 0})
            op = str(a.get("file.operation") or "")
            if op and op not in f["operations"]:
                f["operations"].append(op)
            f["lines_added"] += int(a.get("file.lines_added") or 0)
            f["lines_removed"] += int(a.get("file.lines_removed") or 0)
        command = a.get("terminal.command")
        if isinstance(command, str):
            code = a.get("terminal.exit_code")
            commands.append({"command": command, "exit_code": code, "start_ns": span.start_ns, "status": span.status})
        link = _link(span)
        if link is not None:
            commits.setdefault(
                link.sha,
                {
                    "commit": link.sha,
                    "message": link.message,
                    "files": link.files,
                    "lines_added": link.added,
                    "lines_removed": link.removed,
                    "time_ns": link.time_ns,
                },
            )
    if not files and not commands and not commits:
        engine.session(session_id)  # raises NotFoundError for an unknown session
    return SessionActivity(
        files=sorted(files.values(), key=lambda f: f["path"]),
        commands=sorted(commands, key=lambda c: c["start_ns"]),
        commits=sorted(commits.values(), key=lambda c: c["time_ns"]),
    )
