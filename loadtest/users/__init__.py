"""The locust side: what the users count (tally) and how a session miss is judged (misses)."""
