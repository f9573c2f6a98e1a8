"""mixed-version: a rolling deploy from nodes writing session schema v1 to nodes writing v2, then a rollback probe.

The nodes start with SESSION_SCHEMA=1; each in turn is drained, stopped and started again with SESSION_SCHEMA=2
(the rolling deploy's mechanics, `rolling_deploy.py`), so for a while v1 and v2 nodes share the sessions. A v2
node reading a v1 session migrates it (`--schema-compat migrate`: no one is logged out) or treats it as a new
session (`reject`: each user whose v1 session a v2 node reads logs in again). 500s must be 0 either way. After the
load, node-1 is rolled back to v1 and asked for sessions node-2 (v2) wrote: it cannot read them and must say so
(a new session, counted as `schema_unreadable`), never a 500.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios.base import Action, Event, RunTimeline
from loadtest.compare.scenarios.rolling_deploy import LEAD, RollingDeploy, slot
from loadtest.compare.theory.model import Expectation
from loadtest.lab.cluster import ClusterConfig
from loadtest.lab.probe import request
from loadtest.lab.session_probe import app_login
from nodes.contract.names import MEMORY, SCHEMA_REJECT, STICKY, TOKEN_HEADER

if TYPE_CHECKING:
    from collections.abc import Mapping

    from loadtest.compare.spec import CellSpec
    from loadtest.lab.control import ClusterControl

SCHEMA = "SESSION_SCHEMA"
OLD, NEW = "1", "2"
PROBED = 10  # sessions the rollback probe writes on a v2 node and asks a v1 node for
TIMEOUT = 5.0


def with_schema(name: str, version: str) -> Action:
    """The node's next process runs this schema (its environment changes before the restart that follows)."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.member(name).process.env[SCHEMA] = version
        return {"outcome": f"{name} will run {SCHEMA}={version}"}

    return act


class MixedVersion(RollingDeploy):
    name = "mixed-version"
    survives = "schema deploy"
    description = ("a rolling deploy from SESSION_SCHEMA=1 to 2 (--schema-compat migrate,reject), then one node "
                   "rolled back to 1 and asked for v2 sessions")  # fmt: skip
    routings = (STICKY,)
    users = ("BrowserUser",)  # pinned by their cookie: a deploy moves them only off a node that leaves

    def in_default(self, store: str, routing: str) -> bool:
        return False

    def session_variants(self, spec: CellSpec, sweeps: Mapping[str, tuple[str, ...] | None]) -> list[CellSpec]:
        modes = sweeps.get("schema_compat") or ("migrate", "reject")
        return [replace(spec, session=replace(spec.session, schema_compat=mode)) for mode in modes]

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return replace(super().cluster(config), extra_env=(*super().cluster(config).extra_env, (SCHEMA, OLD)))

    def events(self, spec: CellSpec) -> list[Event]:
        """The rolling deploy's events, each node's restart preceded by its switch to v2."""
        switches = [Event(LEAD + index * slot(spec), with_schema(f"node-{index + 1}", NEW),
                          f"node-{index + 1} to schema v{NEW}") for index in range(spec.nodes)]  # fmt: skip
        return switches + super().events(spec)

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        """Memory, and migrate: the restarts' churn theory alone (memory sessions never meet the other version;
        migrate reads them, and a pinned browser never goes back from a v2 node to a v1 one: v2 nodes do not leave
        again). Reject: one forced login per user, when it first reaches a v2 node with its v1 session."""
        judged = super().timeline_theory(spec, run)
        if judged is None or spec.store == MEMORY or spec.session.schema_compat != SCHEMA_REJECT:
            return judged
        churn, fields = judged
        users = sum(run.users.values())
        return replace(churn, misses=churn.misses + users, exact_zero=False,
                       explanation=f"{churn.explanation} reject: each of {users} users is logged out once, when its "
                       "node leaves and a v2 node reads its v1 session (it logs in there again, as v2, and stays: "
                       "v2 nodes do not leave).", ), fields  # fmt: skip

    def after_load(self, spec: CellSpec, control: ClusterControl) -> dict[str, Any]:
        """Roll node-1 back to v1 and ask it for PROBED sessions node-2 (v2) wrote: each must be unreadable (401)."""
        users = spec.users
        if spec.nodes < 2:
            return {"users_before_deploy": users}
        old, new = control.member("node-1"), control.member("node-2")
        control.stop_node(old.name)
        old.process.env[SCHEMA] = OLD
        control.start_node(old.name)
        unreadable = errors = 0
        for _ in range(PROBED):
            _, token = app_login(new.url, f"rollback-{uuid.uuid4().hex[:8]}", TIMEOUT)
            status = request("GET", old.url + "/me", headers={TOKEN_HEADER: token}, timeout=TIMEOUT).status
            unreadable += status == 401
            errors += status is None or status >= 500
        return {"users_before_deploy": users, "schema_probed": PROBED, "schema_unreadable": unreadable,
                "rollback_500s": errors}  # fmt: skip
