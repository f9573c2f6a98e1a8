"""`sessionlab bench`: the balancer against nginx and HAProxy, and the session stores, side by side."""
