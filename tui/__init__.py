"""The Textual app behind `agenttrace top` (installed as agenttrace.tui).

from agenttrace.tui import AgentTraceTop, CollectorClient
AgentTraceTop(CollectorClient("http://127.0.0.1:4318")).run()
"""

from .app import AgentTraceTop
from .client import DEFAULT_URL, CollectorClient, CollectorRefused, CollectorUnreachable

__all__ = ["DEFAULT_URL", "AgentTraceTop", "CollectorClient", "CollectorRefused", "CollectorUnreachable"]
