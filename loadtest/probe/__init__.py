"""`sessionlab probe`: the session-miss rate and backend affinity of a running deployment, through its balancer."""
