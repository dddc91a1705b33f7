"""Results as plain data: traces, per-property verdicts, per-model results.

Statuses (the README's table): proved, bounded, violated, unknown. `proved` is only ever given
when the solver answered UNSAT for the violation *and* UNSAT for "some execution reaches a
cut", i.e. the bound covered every execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVED, BOUNDED, VIOLATED, UNKNOWN, VACUOUS = "proved", "bounded", "violated", "unknown", "vacuous"
# vacuous: no violation, but only because nothing was checked: the property's check sites are
# unreachable within the bound, no execution finishes (leak), or the assumptions exclude every
# execution. Never reported as proved.
STATUSES = (PROVED, BOUNDED, VIOLATED, UNKNOWN, VACUOUS)
KINDS = ("leak", "uaf", "lost_update", "assert", "deadlock")


@dataclass(frozen=True)
class TraceStep:
    """One step of a counterexample: which thread ran which line, and what it changed."""

    index: int
    thread: str
    file: str
    line: int
    text: str
    c_line: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Trace:
    """A counterexample: the steps in execution order and the violation they end in."""

    steps: tuple[TraceStep, ...]
    violation: str            # the violated property, in words
    file: str = ""
    line: int = 0
    shortest: bool = True     # False when minimisation was cut short (the solver said unknown)
    unreplayed: str = ""      # why the reference interpreter gave up replaying it; "" once replayed
    memory_order: tuple[str, ...] = ()   # under a weak model: what each read saw, each location's coherence order
    graph: str = ""                      # under a weak model: the execution graph, Graphviz DOT


@dataclass(frozen=True)
class PropertyResult:
    """The verdict on one property, with what the bound covered and any counterexample."""

    name: str
    kind: str
    status: str
    bound: int
    time_s: float
    coverage: str = ""        # what the bound covered
    reason: str = ""          # for unknown: why
    trace: Trace | None = None
    checks: int = 0           # how many check sites the property has in the unrolled program


@dataclass(frozen=True)
class ModelResult:
    """The verdicts on one model's properties, in report order."""

    path: str
    bound: int
    params: tuple[tuple[str, int], ...]
    properties: tuple[PropertyResult, ...]
    time_s: float
    stats: dict[str, int] = field(default_factory=dict)
    memory_model: str = "sc"      # the memory model the verdicts hold under (sc | lkmm)
