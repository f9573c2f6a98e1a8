"""Numbers you can trust beyond the matrix: the capacity search and the cross-check against an outside load tool."""
