"""A small reverse proxy that routes to the nodes randomly, round-robin, stickily or by consistent hash."""
