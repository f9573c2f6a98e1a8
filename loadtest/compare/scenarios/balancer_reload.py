"""balancer-reload: the balancer reloads its config a quarter of the way through the run and is restarted at half
time (early: on a loaded machine locust's clock starts before its users run). Nothing changes in the membership,
so misses follow the steady model; the failed requests each event causes are measured (they depend on the
balancer and on timing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loadtest.compare.scenarios.actions import reload_balancer, restart_balancer
from loadtest.compare.scenarios.base import ErrorTheory, Event, Scenario

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

MIN_DURATION = 12.0


class BalancerReload(Scenario):
    name = "balancer-reload"
    survives = "balancer reload"
    description = "the balancer reloads its config at 1/4 of the run and is restarted at 1/2"

    def duration(self, spec: CellSpec) -> float:
        return max(spec.duration, MIN_DURATION)

    def events(self, spec: CellSpec) -> list[Event]:
        length = self.duration(spec)
        return [Event(length / 4, reload_balancer(), "reload the balancer's config"),
                Event(length / 2, restart_balancer(), "restart the balancer")]  # fmt: skip

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        return ErrorTheory(None, "a reload should fail nothing; a restart fails the requests in flight and those "
                           "sent while nothing listens: how many depends on timing, so they are reported")  # fmt: skip
