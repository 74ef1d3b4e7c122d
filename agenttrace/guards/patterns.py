"""The guards' pattern sets: secrets, personal data and prompt-injection markers.

Each set maps a finding kind to a regular expression. They are data, not code paths: a
deployment adds its own with :func:`agenttrace.guards.scan.Scanner` (``extra=``), and
``tests/guards/test_patterns.py`` holds a table of positive and negative cases for every
kind listed here. Patterns are anchored on the fixed prefixes providers put on their keys
so that ordinary prose and hex ids do not match; what has no fixed prefix (credit cards)
is confirmed by a checksum after the match (:func:`luhn_ok`).
"""

from __future__ import annotations

__all__ = ["DIGIT_KINDS", "DIGIT_RUN", "HINTS", "INJECTION", "PII", "SECRETS", "luhn_ok"]

# Credentials of the common providers, by the prefixes they document.
SECRETS: dict[str, str] = {
    "anthropic_api_key": r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{20,}",
    "openai_api_key": r"\bsk-(?:proj-|svcacct-|admin-)?(?!ant-)[A-Za-z0-9_\-]{20,}",
    "aws_access_key_id": r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}",
    "stripe_secret_key": r"\b[rs]k_live_[0-9A-Za-z]{20,}",
    "huggingface_token": r"\bhf_[A-Za-z]{34}\b",
    "private_key": r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
}

# Personal data. Phone numbers: international form (+ and 8-15 digits, with the usual
# separators) or the North American form; bare digit runs are left alone (ids, amounts).
PII: dict[str, str] = {
    "email": r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b",
    "credit_card": r"\b(?:\d[ \-]?){12,18}\d\b",
    "phone": r"(?<![\w+])(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]?\d{2,4}){1,4}"
    r"|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}|\d{3}[.\-]\d{3}[.\-]\d{4})(?!\w)",
}

# Markers of prompt injection in tool results and retrieved content: text that addresses
# the model rather than the user. Case-insensitive.
INJECTION: dict[str, str] = {
    "ignore_instructions": r"(?i)\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+)?"
    r"(?:previous|prior|above|earlier|preceding|system)\s+(?:instructions|prompts?|rules|messages|context)",
    "new_instructions": r"(?i)\b(?:new|updated|real)\s+(?:system\s+)?instructions\s*:",
    "role_override": r"(?i)\byou\s+are\s+(?:now|no\s+longer)\s+(?:a|an|the|in|DAN\b)",
    "system_prompt_exfiltration": r"(?i)\b(?:reveal|print|show|repeat|output)\s+(?:your|the)\s+"
    r"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions)",
    "chat_template_tokens": r"<\|(?:im_start|im_end|system|endoftext)\|>|\[/?INST\]|<</?SYS>>",
    "tool_hijack": r"(?i)\b(?:call|invoke|run|execute)\s+the\s+\w+\s+tool\s+(?:with|to)\b.{0,80}"
    r"\b(?:password|secret|token|api[_ ]?key|credentials)",
}


# What a text must contain (lower-cased) for a kind's pattern to be worth running: a plain
# substring test is far cheaper than a regex over every position, and most content holds
# none of these. A kind not listed here has no cheap hint and always runs.
HINTS: dict[str, tuple[str, ...]] = {
    "anthropic_api_key": ("sk-ant-",),
    "openai_api_key": ("sk-",),
    "aws_access_key_id": ("akia", "asia"),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "slack_token": ("xox",),
    "google_api_key": ("aiza",),
    "stripe_secret_key": ("k_live_",),
    "huggingface_token": ("hf_",),
    "private_key": ("private key",),
    "jwt": ("eyj",),
    "email": ("@",),
    "ignore_instructions": ("ignore", "disregard", "forget", "override"),
    "new_instructions": ("instructions",),
    "role_override": ("you are",),
    "system_prompt_exfiltration": ("system prompt", "instructions"),
    "chat_template_tokens": ("<|", "[inst", "[/inst", "<<sys", "<</sys"),
    "tool_hijack": (" tool ",),
}
# Card and phone numbers have no fixed text, but they do have a run of digits.
DIGIT_RUN = r"[0-9]{3}[ .\-)]{0,2}[0-9]{3}"
DIGIT_KINDS = frozenset({"credit_card", "phone"})


def luhn_ok(digits: str) -> bool:
    """True when the digits (separators ignored) pass the Luhn checksum of card numbers."""
    nums = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(nums) <= 19:
        return False
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0
