"""Reference interpreter: explicit-state exploration of a resolved program (docs/semantics.md).

Input: an `ir.Program` (shared with the prover: parser and resolver only). Output: per
property, violated (with the shortest trace, found breadth-first) or not, over *every*
execution, unbounded: loops run as long as they like, and states are hashed, so a finite
state space is explored completely. It shares no code with prove/unroll.py or prove/encode.py, so it is
independent evidence for the z3 engine:

- `explore(program)`: every reachable state; the verdict of each property;
- `replay(program, schedule, property)`: does this schedule of threads (a z3 counterexample)
  really violate the property?
- `simulate`: one random or chosen schedule (the command `objcg-prove simulate` is cli/simulate.py).

This module is the interpreter's entry: its names are imported from here. The work is done in
units.py (a thread compiled to units: NOTE(interpreter-units)), run.py (one run of one unit),
machine.py (states and moves; the limits, NOTE(choice-limits)) and explore.py (breadth-first
exploration, following a schedule, one thread alone, simulation). `replay` stays here: its
budget is this module's MAX_REPLAY_RUNS, read when it runs.
"""

from __future__ import annotations

from ..lang import ir
from ..lang.diagnostics import Diagnostic
from .explore import Exploration, Found, explore, follow, property_list, run_alone, simulate
from .machine import (DEFAULT_MAX_STATES, MAX_CHOICE_VALUES, MAX_MOVE_RUNS, MAX_PURE_UNITS, MAX_REPLAY_RUNS,
                      MAX_UNIT_RUNS, Machine, State, StateLimit, StepRecord, ThreadState)
from .run import READ, RMW, WRITE, Access, Locals, Memory
from .units import Instr

QUICK_HINTED_VALUES = 256   # replay's quick pass: wider nondet()s get only the hinted values

__all__ = [
    "DEFAULT_MAX_STATES", "MAX_CHOICE_VALUES", "MAX_MOVE_RUNS", "MAX_PURE_UNITS", "MAX_REPLAY_RUNS", "MAX_UNIT_RUNS",
    "READ", "RMW", "WRITE", "Access", "Exploration", "Found", "Instr", "Locals", "Machine", "Memory", "State",
    "StateLimit", "StepRecord", "ThreadState", "explore", "property_list", "replay", "run_alone", "simulate",
]


def replay(program: ir.Program, schedule: list[tuple[str, str, int]], name: str, kind: str,
           hints: tuple[int, ...] = ()) -> tuple[bool, str]:
    """Follow a schedule of (thread, line) steps; does it violate property `name`?

    Every nondet choice is tried. For leak and deadlock the schedule must end in a state where
    the property fails; for the other properties a violation on the way counts. (False, why)
    when it does not. A nondet() with too many values to try (NOTE(choice-limits)) gets only
    the `hints` (the values the counterexample shows): a violation found so is confirmed (some
    execution has it), but none found is no answer. Raises StateLimit when the interpreter
    gives up: neither confirmed nor refuted.

    A quick pass comes first when there are hints: every nondet() with more than
    QUICK_HINTED_VALUES values gets only the hints. A violation it finds is confirmed as well
    (a violation found with some values is one), and it spares trying 2^16 values of each wide
    nondet() along a schedule that already shows them (found by fuzzing: a width-16 replay ran
    for minutes). Whether a thread is blocked is always decided over every value
    (Machine.blocked)."""
    if hints and QUICK_HINTED_VALUES < MAX_CHOICE_VALUES:
        quick = Machine(program, hints)
        quick.hinted_above = QUICK_HINTED_VALUES
        quick.max_total_runs = MAX_REPLAY_RUNS
        try:
            if follow(quick, program, schedule, name, kind)[0]:
                return True, ""
        except StateLimit:
            pass   # the full pass below decides
    machine = Machine(program, hints)
    machine.max_total_runs = MAX_REPLAY_RUNS
    ok, why = follow(machine, program, schedule, name, kind)
    if not ok and machine.narrowed is not None:
        d = machine.narrowed.diagnostics[0]
        raise StateLimit([Diagnostic(d.span, (
            f"{d.message}; only the {len(hints)} values the counterexample suggests were tried, and with them "
            f"{why}"))])
    return ok, why

