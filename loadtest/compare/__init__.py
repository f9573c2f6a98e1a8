"""`sessionlab compare`: the routing x store x scenario matrix, its theory, results schema and report."""
