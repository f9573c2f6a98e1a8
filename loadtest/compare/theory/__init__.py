"""What each cell should measure, from the run's own exposure: misses per routing x store, through kills and
membership changes, and the replicated store's stale reads."""
