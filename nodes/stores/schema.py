"""The stored session's schema version, for a rolling deploy between nodes that write different forms.

Schema 1 is the form nodes always wrote: `{"created", "indexed", "session": {"user", ...}}`. Schema 2 marks itself
(`"schema": 2`) and renames the session's `user` to `user_id`, the kind of change that breaks a mixed-version
cluster (spring-session #280). In memory a session always has schema 1's names: only the stored form differs.

Reading another schema never raises: a schema-2 node migrates a schema-1 session (reads it, writes it back as 2)
or rejects it (a new session: the user logs in again), by SESSION_SCHEMA_COMPAT; a schema-1 node cannot read a
schema-2 session and starts a new one. Each case is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodes.contract.names import DEFAULT_SCHEMA, SCHEMA_MIGRATE
from nodes.stores.counters import SessionCounters

SCHEMA_FIELD = "schema"
RENAMED = (("user", "user_id"),)  # schema 1's name -> schema 2's


def stored_as(form: dict[str, Any], version: int) -> dict[str, Any]:
    """A session's stored form (schema 1's names) in schema `version`."""
    if version == 1:
        return form
    data = dict(form["session"])
    for old, new in RENAMED:
        if old in data:
            data[new] = data.pop(old)
    return {SCHEMA_FIELD: version, **form, "session": data}


def in_memory(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored schema-2 form back in schema 1's names (what handlers read)."""
    data = dict(stored["session"])
    for old, new in RENAMED:
        if new in data:
            data[old] = data.pop(new)
    return {**stored, "session": data}


def schema_of(stored: dict[str, Any]) -> int | None:
    """The schema a stored form says it has (1 when it says none), or None when the mark is garbage."""
    version = stored.get(SCHEMA_FIELD, 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else None


@dataclass(frozen=True, slots=True)
class SchemaPolicy:
    version: int = DEFAULT_SCHEMA  # what this node writes
    compat: str = SCHEMA_MIGRATE  # what it does with an older session: migrate | reject

    def read(self, stored: dict[str, Any], counters: SessionCounters | None) -> tuple[dict[str, Any] | None, bool]:
        """The stored form in memory's names, or None for "a new session"; and whether it must be re-saved.

        `counters` None: not counted (a login reads the session it replaces only to discard it)."""
        counters = counters or SessionCounters()
        found = schema_of(stored)
        if found == self.version:
            return (stored if found == 1 else in_memory(stored)), False
        if found is not None and found < self.version:
            if self.compat == SCHEMA_MIGRATE:
                counters.schema_migrated += 1
                return (stored if found == 1 else in_memory(stored)), True
            counters.schema_rejected += 1
            return None, False
        counters.schema_unreadable += 1  # a newer schema (a rollback), or garbage: never guess at it
        return None, False
