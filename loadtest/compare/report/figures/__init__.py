"""The report's figures (matplotlib, drawn only when a report is written)."""
