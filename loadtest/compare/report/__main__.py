"""`python -m loadtest.compare.report DIR`: rewrite DIR/report.md and DIR/report.html from DIR/results.json."""

from loadtest.compare.report.render import main

raise SystemExit(main())
