"""AgentTrace: observability for AI agents. The public SDK surface lives here."""

__version__ = "0.1.0"
