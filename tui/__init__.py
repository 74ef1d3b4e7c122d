"""The Textual app behind `agenttrace top` (installed as agenttrace.tui)."""
