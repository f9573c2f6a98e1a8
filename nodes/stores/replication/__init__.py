"""Session replication between nodes (SESSION_STORE=replicated), after Tomcat's DeltaManager and BackupManager.

table: this node's copies; wire: the signed message format; peers: membership and ownership; client: the peer
HTTP client; delivery: sync and async sends; replicator: reads, writes and deletions; liveness: heartbeats,
start-up pull and re-syncs; server: the peer endpoints; build: wiring it into a node.
"""
