"""The static cost of a design's common path: its shared accesses, counted by running it.

Input: a model path, `-D` values and the bound. Output: one `PathCost` per `common_path`
declaration of the model (docs/dsl.md), in declaration order.

A `common_path NAME (current = &task) given { G } { P }` is not a thread of the model. The
reference interpreter (oracles/interpret.py) runs `G` alone from the initial state (establishing the
precondition: e.g. the task's objcg pointer cached, its update bit clear), then `P` alone from
the state `G` left. Every shared access `P` makes is counted by kind, as the prover's events
name them (prove/events.py): an atomic read-modify-write (xchg, cmpxchg, set_bit, atomic_*, spin_lock,
and the refcount operations get, put, kill, tryget), a shared load (a read of a non-const field
or shared variable, READ_ONCE, rcu_dereference, refcount()), a shared store (an assignment,
WRITE_ONCE, spin_unlock). Const fields are not memory accesses (docs/semantics.md), and ghost
variables exist only to state properties: neither is counted. Nothing in `G` is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..lang.diagnostics import SourceCache
from ..lang.parser import load_model
from ..lang.resolve import resolve
from ..oracles.interpret import READ, RMW, WRITE, Machine, run_alone


@dataclass(frozen=True)
class PathCost:
    name: str
    rmw: int        # atomic read-modify-writes
    loads: int      # shared loads
    stores: int     # shared stores


def common_path_costs(path: str, defines: tuple[tuple[str, int], ...] = (), bound: int | None = None) -> list[PathCost]:
    """The cost of every common path the model declares (raises UserError on a bad path)."""
    program = resolve(load_model(path, SourceCache()), dict(defines), bound)
    out = []
    for decl in program.common_paths:
        machine = Machine(replace(program, threads=(decl.given, decl.path)))
        memory = tuple(loc.init for loc in program.layout.locations)
        memory, _ = run_alone(machine, 0, memory, f"common_path {decl.name}: the 'given' block")
        _, accesses = run_alone(machine, 1, memory, f"common_path {decl.name}")
        locations = program.layout.locations
        counted = [a.kind for a in accesses if a.loc < 0 or not locations[a.loc].ghost]
        out.append(PathCost(decl.name, counted.count(RMW), counted.count(READ), counted.count(WRITE)))
    return out
