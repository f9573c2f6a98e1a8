"""Running cells: a cluster, a bounded locust run with the scenario's events on their timeline, logout-all after."""
