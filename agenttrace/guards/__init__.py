"""Guards: find secrets, personal data, prompt-injection markers and loops in spans as the
collector stores them (:class:`GuardStage`), from documented pattern sets (:mod:`.patterns`).
"""

from agenttrace.guards.scan import GUARDS, Finding, Scanner, redact
from agenttrace.guards.stage import GuardConfig, GuardStage

__all__ = ["GUARDS", "Finding", "GuardConfig", "GuardStage", "Scanner", "redact"]
