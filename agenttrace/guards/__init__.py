"""Guards: find secrets, personal data, prompt-injection markers and loops in spans as the
collector stores them (:class:`GuardStage`), from documented pattern sets (:mod:`.patterns`).
"""

from agenttrace.guards.scan import GUARDS, Finding, Scanner, redact
from agenttrace.guards.stage import FINDING_KINDS, GuardConfig, GuardStage, metric_labels

__all__ = ["FINDING_KINDS", "GUARDS", "Finding", "GuardConfig", "GuardStage", "Scanner", "metric_labels", "redact"]
