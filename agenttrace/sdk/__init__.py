"""The agent-side SDK behind ``import agenttrace as at`` (user doc: ``docs/sdk.md``).

Modules, each with one job:

``config``       settings from ``configure()`` arguments and ``AGENTTRACE_*`` variables
``context``      the current span (a ContextVar), sessions, threads, W3C traceparent
``tracer``       live spans: context manager, decorator, typed helpers, sampling hand-off
``emitter``      the bounded queue and the background thread that batches and sends
``transport``    non-blocking UDP and Unix datagram sockets
``runtime``      process-wide state: configure, flush, stats, shutdown, fork, exit
``api``          the names ``agenttrace`` re-exports
``integrations`` Anthropic and OpenAI usage converters
"""
