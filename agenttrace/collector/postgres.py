"""The collector's side of the PostgreSQL store: start the WAL sink, pick the API's engine,
export the sink's figures to /metrics (docs/postgres.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from agenttrace.collector.config import CollectorConfig

__all__ = ["api_engine", "sink_metrics", "start_sink"]

log = logging.getLogger("agenttrace.collector.postgres")


def start_sink(cfg: CollectorConfig) -> Any:
    """The running :class:`~agenttrace.store.postgres.sink.PostgresSink` when ``[postgres]
    dsn`` is set, else None. It decodes WAL records and enriches them as the workers do."""
    if not cfg.postgres.dsn:
        return None
    from agenttrace import wire
    from agenttrace.collector.worker import build_stages
    from agenttrace.errors import WireError
    from agenttrace.store.postgres.sink import PostgresSink

    stages = build_stages(cfg)

    def decode(raw: bytes) -> list:
        try:
            spans = wire.decode(raw).spans
        except WireError:
            return []
        for stage in stages:
            try:
                stage(spans)
            except Exception:
                log.exception("enrichment stage %r failed; writing spans without it", stage)
        return spans

    sink = PostgresSink(
        cfg.postgres.dsn, cfg.data_dir, decode=decode, batch_bytes=cfg.postgres.batch_bytes,
        migrate_at_start=cfg.postgres.migrate, retention_days=cfg.postgres.retention_days,
    )  # fmt: skip
    sink.start()
    return sink


def api_engine(cfg: CollectorConfig) -> Any:
    """The QueryEngine the HTTP API answers from: PostgreSQL with ``[store] read = "postgres"``,
    else None (the app opens the segment engine itself)."""
    if cfg.store.read != "postgres":
        return None
    if not cfg.postgres.dsn:
        from agenttrace.errors import ConfigError

        raise ConfigError("store.read", "postgres", 'a [postgres] dsn to read from (or read = "segments")')
    from agenttrace.query.postgres import PostgresQueryEngine

    return PostgresQueryEngine(cfg.postgres.dsn)


def sink_metrics(sink: Any) -> Iterator[Any]:
    """Prometheus families of the sink (nothing when there is none)."""
    if sink is None:
        return
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    st = sink.stats
    yield CounterMetricFamily(
        "agenttrace_postgres_spans_written", "Spans committed to PostgreSQL (replays included).", value=st.sent_spans
    )
    yield GaugeMetricFamily(
        "agenttrace_postgres_backlog_bytes", "WAL bytes not yet committed to PostgreSQL.", value=st.backlog_bytes
    )
    yield GaugeMetricFamily("agenttrace_postgres_connected", "1 while the sink reaches PostgreSQL.", value=st.connected)
    yield CounterMetricFamily("agenttrace_postgres_errors", "Failed PostgreSQL writes (retried).", value=st.errors)
    yield CounterMetricFamily(
        "agenttrace_postgres_rejected_spans", "Spans PostgreSQL refused as data (skipped).", value=st.rejected_spans
    )
