"""OTLP ingest: OTLP/HTTP (``/v1/traces``, ``/v1/logs``, ``/v1/metrics``) and OTLP/gRPC.

``mapping`` and ``logs`` are pure functions (OTLP messages -> Spans); ``submit`` pushes
the spans into the collector's rings; ``http`` and ``grpc`` are the two transports.
User doc: ``docs/otlp.md``.
"""
