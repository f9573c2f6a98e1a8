"""results.json -> report.md and report.html (with plots), and the console summary."""
