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
    reads: tuple[str, ...] = ()    # the shared locations it read, by name (NOTE(narrow-traces) in cli/narrow.py)
    writes: tuple[str, ...] = ()   # the shared locations it wrote


@dataclass(frozen=True)
class WeakEvent:
    """One event of a weak-memory counterexample, as the program made it (no LKMM class: the
    checker that reads it gives each its class itself, runner/weak_replay.py)."""

    thread: str
    row: int                  # the trace row of its step (0: a fence)
    kind: str                 # R, W, RMW, or F (a fence)
    loc: str                  # the location's name ("" for a fence)
    read: int | None          # the value read (R, RMW)
    written: int | None       # the value written (W, an RMW that wrote)
    mode: str                 # the event's mode (plain, once, acquire, release, mb, relaxed, ref) or a fence's tag
    what: str                 # the builtin or access ("read", "write", "xchg", "get", "spin_lock" ...)
    wrote: bool = True        # an RMW that wrote (a failed cmpxchg only reads)
    ghost: bool = False       # an access of a ghost variable


@dataclass(frozen=True)
class WeakExecution:
    """A weak-memory counterexample's execution graph, for the independent LKMM evaluator."""

    events: tuple[WeakEvent, ...]                       # each thread's events in program order, thread by thread
    initial: tuple[tuple[str, int], ...]                # each location the events touch, with its initial value
    reads_from: tuple[tuple[int, int], ...]             # (reader, writer) by index in `events`; writer -1: the initial value
    coherence: tuple[tuple[str, tuple[int, ...]], ...]  # per location, its writes after the initial one, in order
    deps: tuple[tuple[str, int, int], ...]              # (addr | data | ctrl, a read, a later event of its thread)


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
    execution: WeakExecution | None = None   # under a weak model: the same graph, as data
    thread: str = ""          # the thread whose check failed ("" for a leak, a deadlock, the final block)
    focus: tuple[str, ...] = ()   # for a leak: the refcounts that end wrong, by location name
    sequential: bool = False  # under a weak model: a sequentially consistent execution, its rows in the order
                              # its steps ran (NOTE(sequential-level) in prove/lkmm.py)


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
