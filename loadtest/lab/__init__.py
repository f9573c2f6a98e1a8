"""Lab infrastructure: child processes, Redis/Valkey servers, the local cluster and its launcher, loopback probes."""
