"""The shared contract: the names, defaults and settings helper that nodes, balancer and lab all rely on.

It lives here because the nodes define the session protocol; the balancer and the lab import it from
`nodes.contract` and nothing else from `nodes`. It imports no third-party package, so the locust
processes and the balancer can load it cheaply.
"""
