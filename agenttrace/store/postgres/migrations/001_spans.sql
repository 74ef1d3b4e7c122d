-- AgentTrace PostgreSQL schema, version 1: spans partitioned by day, an hourly rollup.
-- Applied by agenttrace.store.postgres.schema.migrate (at collector start, or by hand
-- with `agenttrace db migrate --dsn ...`). Never edit an applied migration: add 002_*.sql.

-- One row per span. Times are Unix nanoseconds (as everywhere in AgentTrace); the
-- partition key is start_ns, one partition per UTC day (spans_YYYYMMDD), created ahead
-- by the sink and dropped by retention; spans_default catches a day nobody created.
CREATE TABLE spans (
    trace_id              bytea            NOT NULL,
    span_id               bytea            NOT NULL,
    parent_id             bytea            NOT NULL DEFAULT '\x',
    name                  text             NOT NULL,
    start_ns              bigint           NOT NULL,
    end_ns                bigint           NOT NULL,
    kind                  text             NOT NULL DEFAULT 'custom',
    status                smallint         NOT NULL DEFAULT 0,
    status_message        text             NOT NULL DEFAULT '',
    session_id            text             NOT NULL DEFAULT '',
    service               text             NOT NULL DEFAULT '',
    user_id               text             NOT NULL DEFAULT '',
    environment           text             NOT NULL DEFAULT '',
    tags                  text[]           NOT NULL DEFAULT '{}',
    model                 text             NOT NULL DEFAULT '',
    provider              text             NOT NULL DEFAULT '',
    has_usage             boolean          NOT NULL DEFAULT false,
    input_tokens          bigint           NOT NULL DEFAULT 0,
    output_tokens         bigint           NOT NULL DEFAULT 0,
    cache_read_tokens     bigint           NOT NULL DEFAULT 0,
    cache_write_tokens    bigint           NOT NULL DEFAULT 0,
    reasoning_tokens      bigint           NOT NULL DEFAULT 0,
    cache_write_1h_tokens bigint           NOT NULL DEFAULT 0,
    cost_usd              double precision,
    input_preview         text             NOT NULL DEFAULT '',
    output_preview        text             NOT NULL DEFAULT '',
    attributes            jsonb            NOT NULL DEFAULT '{}',
    events                jsonb            NOT NULL DEFAULT '[]',
    service_tier          text             NOT NULL DEFAULT '',
    cost_source           text             NOT NULL DEFAULT '',
    -- A partitioned table's unique key must hold the partition key. A replayed span has
    -- the same start_ns (it is decoded from the same WAL record), so this is the
    -- (trace_id, span_id) idempotency key in practice.
    PRIMARY KEY (trace_id, span_id, start_ns)
) PARTITION BY RANGE (start_ns);

CREATE TABLE spans_default PARTITION OF spans DEFAULT;

CREATE INDEX spans_session_idx ON spans (session_id, start_ns) WHERE session_id <> '';
CREATE INDEX spans_service_idx ON spans (service, start_ns);
CREATE INDEX spans_start_idx ON spans (start_ns);
-- trace_id lookups use the primary key's leading column.

-- Hourly rollup, maintained by the sink in the same transaction as the spans it
-- counts (only rows the insert really added: replays add nothing).
CREATE TABLE span_rollup_hourly (
    hour_ns              bigint           NOT NULL,  -- start of the UTC hour, Unix ns
    service              text             NOT NULL,
    kind                 text             NOT NULL,
    model                text             NOT NULL,
    status               smallint         NOT NULL,
    spans                bigint           NOT NULL,
    input_tokens         bigint           NOT NULL,
    output_tokens        bigint           NOT NULL,
    cache_read_tokens    bigint           NOT NULL,
    cache_write_tokens   bigint           NOT NULL,
    reasoning_tokens     bigint           NOT NULL,
    cost_usd             double precision NOT NULL,
    duration_sum_ns      bigint           NOT NULL,
    duration_max_ns      bigint           NOT NULL,
    PRIMARY KEY (hour_ns, service, kind, model, status)
);
