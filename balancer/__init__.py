"""A small reverse proxy that routes to the nodes randomly, round-robin, stickily or by consistent hash."""

from balancer.data_path import select as _select_data_path

# Before any data-path module is imported: this source's mypyc build, when there is one (balancer/data_path.py).
DATA_PATH = _select_data_path(__path__)
