"""Ways in other than our own datagrams: each converts to :class:`~agenttrace.model.Span`
at its edge and hands the spans to the collector's rings (DESIGN.md, wave 2)."""
