"""The compare runner's handshake measure on a real cluster: with a shared store, random routing still sends the
upgrade to a node that never issued its transport id; sticky routing never does."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.compare.run.handshake import measure
from loadtest.lab.cluster import ClusterConfig, LocalCluster

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("routing", ["random", "sticky"])
def test_only_affinity_brings_every_upgrade_to_its_polling_node(routing: str, tmp_path: Path) -> None:
    with LocalCluster(ClusterConfig(nodes=2, routing=routing, store="redis", log_dir=tmp_path)) as cluster:
        measured = measure(cluster.url, attempts=20)
    upgraded, unknown = measured["handshake_upgraded"], measured["handshake_sid_unknown"]
    assert upgraded + unknown == 20, measured  # each one either reached its node or was refused, nothing else
    if routing == "sticky":
        assert unknown == 0
    else:
        assert unknown > 0  # all 20 on the polling node by chance: 2**-20
