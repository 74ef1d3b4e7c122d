"""Coding agents: ``agenttrace wrap``, git links, transcript importers and the mapping
of coding agents' own telemetry (Claude Code, Codex, Gemini CLI) to spans.

Everything here reaches the collector through the SDK and the wire (or, for OTLP logs,
through the ingest path that calls :mod:`agenttrace.coding.telemetry`); nothing writes
the store directly.
"""
