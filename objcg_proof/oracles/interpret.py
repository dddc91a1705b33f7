"""Reference interpreter: explicit-state exploration of a resolved program (docs/semantics.md).

Input: an `ir.Program` (shared with the prover: parser and resolver only). Output: per
property, violated (with the shortest trace, found breadth-first) or not, over *every*
execution, unbounded: loops run as long as they like, and states are hashed, so a finite
state space is explored completely. It shares no code with prove/unroll.py or prove/encode.py, so it is
independent evidence for the z3 engine:

- `explore(program)`: every reachable state; the verdict of each property;
- `replay(program, schedule, property)`: does this schedule of threads (a z3 counterexample)
  really violate the property?
- `simulate`: one random or chosen schedule, and what it shows of each property: violated
  (where), held on this schedule, or not judged (why) (the command `objcg-prove simulate` is
  cli/simulate.py).

This module is the interpreter's entry: its names are imported from here. The work is done in
units.py (a thread compiled to units: NOTE(interpreter-units)), run.py (one run of one unit),
machine.py (states and moves; the limits, NOTE(choice-limits)) and explore.py (breadth-first
exploration, following a schedule, one thread alone). `replay` stays here: its budget is this
module's MAX_REPLAY_RUNS, read when it runs; so does `simulate` (`Simulation`), which judges
every property on the run it made.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

from ..lang import ir
from ..lang.diagnostics import Diagnostic
from ..lang.ir import property_name
from .explore import Exploration, Found, explore, follow, property_list, run_alone
from .machine import (DEFAULT_MAX_STATES, MAX_CHOICE_VALUES, MAX_MOVE_RUNS, MAX_PURE_UNITS, MAX_REPLAY_RUNS,
                      MAX_UNIT_RUNS, Machine, State, StateLimit, StepRecord, ThreadState)
from .run import READ, RMW, WRITE, Access, Locals, Memory
from .units import Instr

QUICK_HINTED_VALUES = 256   # replay's quick pass: wider nondet()s get only the hinted values

__all__ = [
    "DEFAULT_MAX_STATES", "HELD", "MAX_CHOICE_VALUES", "MAX_MOVE_RUNS", "MAX_PURE_UNITS", "MAX_REPLAY_RUNS",
    "MAX_UNIT_RUNS", "NOT_JUDGED", "READ", "RMW", "VIOLATED", "WRITE", "Access", "Exploration", "Found", "Instr",
    "Judged", "Locals", "Machine", "Memory", "Simulation", "State", "StateLimit", "StepRecord", "ThreadState",
    "explore", "property_list", "replay", "run_alone", "simulate",
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


# ---- one schedule, every property judged on it (`objcg-prove simulate`) ------------------------
HELD = "held"               # no check of the property failed on this run (never: it holds)
VIOLATED = "violated"
NOT_JUDGED = "not judged"   # the run says nothing of it (it stopped before the property is judged)

_Violation = tuple[str, str, str]   # (name, kind, message), as the machine reports them
_AGAIN = "stopped where a spin loop goes round again"   # a thread at `again` (NOTE(spin-again) in units.py)


@dataclass(frozen=True)
class Judged:
    """What one run shows of one property (`Simulation.verdicts`), and never more: `status` is
    VIOLATED (`message` says how; `step` is the step after which it was found, 0 before the
    first; `at_end`: found on the run's last state, after its last step), HELD (no check of it
    failed on this run; `message` qualifies it) or NOT_JUDGED (`message` says why)."""

    name: str
    kind: str
    status: str
    message: str = ""
    step: int = 0
    at_end: bool = False


class Simulation:
    """One run of `program`: the given thread names in order, else random (seeded) choices; a
    thread's nondet choices are random (seeded) either way. Iterating it runs it, yielding each
    step as (record, violations, "") and what the run meets outside a step as (None,
    violations, note): violations before the first step, and at the end the note saying why
    the run ended with the end-of-run problems of its last state (Machine.final_problems: leak,
    the final block's checks, deadlock). After that, `verdicts` judges every property of the
    model (`property_list`) on this run, by docs/semantics.md ("Properties", "End-of-run
    checks"):

    - a property of check sites (`uaf`, `assert`, `lost_update`) is violated at the first step
      after which one of its checks failed, else it held on this run (on the steps run, when
      the run was stopped before its end);
    - `leak` and the final block's checks look only at runs in which every thread finished: on
      another run they are not judged, and the reason names the threads that did not finish;
    - `deadlock` is judged on the last state: violated when every unfinished thread is blocked
      there, held when every thread finished or none can move, not judged when the run stopped
      while some thread could still move, or a thread stopped where its spin loop goes round
      (NOTE(spin-again) in units.py: the run ends before that thread waits or goes on).
    """

    def __init__(self, program: ir.Program, seed: int, schedule: list[str] | None, max_steps: int) -> None:
        self.program = program
        self.seed = seed
        self.schedule = schedule
        self.max_steps = max_steps
        self.steps = 0          # steps run
        self.ended = ""         # why the run ended, in words
        self.over = False       # no thread can move at the end: the run is complete
        self.verdicts: tuple[Judged, ...] = ()

    def __iter__(self) -> Iterator[tuple[StepRecord | None, tuple[_Violation, ...], str]]:
        program = self.program
        machine = Machine(program)
        rng = random.Random(self.seed)
        starts = machine.initial()
        state, viols = starts[rng.randrange(len(starts))]
        first: dict[str, tuple[str, str, int | None]] = {}   # property -> (kind, message, step; None: at the end)
        _note(first, viols, 0)
        if viols:
            yield None, viols, ""
        index = {t.name: i for i, t in enumerate(program.threads)}
        n = 0
        problems: list[_Violation] | None = None   # the last state's, when the loop found them
        while True:
            if self.schedule is not None:
                if n >= len(self.schedule):
                    note = "end of the given schedule"
                    self.ended = f"the given schedule ended after {_steps(n)}"
                    break
                if n >= self.max_steps:
                    note = f"stopped after {self.max_steps} steps"
                    self.ended = f"the run stopped at the step limit of {self.max_steps}"
                    break
                t = index.get(self.schedule[n])
                if t is None:
                    note = f"no thread named {self.schedule[n]}"
                    self.ended = f"the given schedule's step {n + 1} names no thread {self.schedule[n]}"
                    break
                options = machine.moves(state, t)
                if not options:
                    note = f"thread {self.schedule[n]} cannot move now"
                    self.ended = (f"the given schedule's step {n + 1} is thread {self.schedule[n]}, which cannot "
                                  "move then")
                    break
            else:
                options = [m for t in range(len(program.threads)) for m in machine.moves(state, t)]
                if machine.at_spin_loop(state):
                    spinning = machine.final_problems(state)
                    if any(p[0] == "deadlock" for p in spinning):
                        note = "every unfinished thread waits forever: the run is over"
                        self.ended, self.over, problems = "every unfinished thread waits forever", True, spinning
                        break
                if not options:
                    note = "no thread can move: the run is over"
                    self.ended, self.over = "no thread can move", True
                    break
                if n >= self.max_steps:
                    note = f"stopped after {self.max_steps} steps"
                    self.ended = f"the run stopped at the step limit of {self.max_steps}"
                    break
            move = options[rng.randrange(len(options))]
            state = move.state
            n += 1
            _note(first, move.violations, n)
            yield move.record, move.violations, ""
        self.steps = n
        if problems is None:
            problems = machine.final_problems(state)
        if not self.over and (any(p[0] == "deadlock" for p in problems) or not any(
                machine.moves(state, t) for t in range(len(program.threads)))):
            # a given schedule that ends, or the step limit, in a state no thread can leave
            self.over = True
            self.ended += ", and no thread can move"
        _note(first, problems, None)
        yield None, tuple(problems), note
        self.verdicts = self._judge(machine, state, first)

    def _judge(self, machine: Machine, state: State, first: dict[str, tuple[str, str, int | None]]
               ) -> tuple[Judged, ...]:
        program = self.program
        threads = state[1]
        finished = all(ts.status == "done" for ts in threads)
        at_end = {property_name(c.kind, c.label, c.span) for c in (program.final.checks if program.final else ())}
        standing = {} if finished else {t: _standing(machine, state, t, self.over) for t, ts in enumerate(threads)
                                        if ts.status != "done"}
        groups: dict[str, list[str]] = {}
        for t, words in standing.items():
            groups.setdefault(words, []).append(program.threads[t].name)
        unfinished = " and ".join(f"{', '.join(names)} {words}" for words, names in groups.items())
        ended = "the run ended" if self.over else self.ended
        listed = property_list(program)
        names = {name for name, _ in listed}
        out = []
        for name, kind in listed + [(n, k) for n, (k, _, _) in first.items() if n not in names]:
            if name in first:
                _, message, step = first[name]
                out.append(Judged(name, kind, VIOLATED, message, self.steps if step is None else step, step is None))
            elif kind == "leak" or name in at_end:
                what = "leak" if kind == "leak" else "a final-block check"
                out.append(Judged(name, kind, HELD) if finished else Judged(name, kind, NOT_JUDGED, (
                    f"{ended} with {unfinished}; {what} is judged only when every thread has finished")))
            elif kind == "deadlock":
                if _AGAIN in groups and not finished:
                    # NOTE(spin-again) in units.py: the thread stops where its iteration goes
                    # round, so this run ends before it waits at the loop or leaves it
                    out.append(Judged(name, kind, NOT_JUDGED, (
                        f"{ended} with {unfinished}: the interpreter stops a thread there (docs/semantics.md, "
                        '"Spin loops"), so this run ends before that thread waits or leaves the loop')))
                elif finished or self.over:
                    why = "" if finished else (
                        f"{ended} with {unfinished}: a deadlock needs every unfinished thread waiting forever")
                    out.append(Judged(name, kind, HELD, why))
                else:
                    movers = ", ".join(groups.get("able to move", ())) or "some thread"
                    out.append(Judged(name, kind, NOT_JUDGED, (
                        f"{self.ended} while {movers} could still move; a deadlock is judged only where no thread "
                        "can move")))
            else:
                why = "" if finished or self.over else f"on its {_steps(self.steps)}; not every thread finished"
                out.append(Judged(name, kind, HELD, why))
        return tuple(out)


def simulate(program: ir.Program, seed: int, schedule: list[str] | None, max_steps: int) -> Simulation:
    """One run of `program` (`Simulation`): iterate it for its steps, then read its `verdicts`."""
    return Simulation(program, seed, schedule, max_steps)


def _steps(n: int) -> str:
    return f"{n} step{'' if n == 1 else 's'}"


def _note(first: dict[str, tuple[str, str, int | None]], violations: tuple[_Violation, ...] | list[_Violation],
          step: int | None) -> None:
    for name, kind, message in violations:
        first.setdefault(name, (kind, message, step))


def _standing(machine: Machine, state: State, t: int, over: bool) -> str:
    """How unfinished thread `t` stands in `state`, in words (for a property not judged); `over`:
    no thread can move in `state`, so a thread whose wait is false now waits forever."""
    ts = state[1][t]
    if ts.status == "dead":
        return "stopped by a failed access"
    if ts.status == "spin":
        return "looping forever without a step"
    if ts.status == "stuck":
        if machine.code[t][ts.pc].kind == "again":
            return _AGAIN
        return "stopped by a false assume"
    if machine.blocked(state, t):
        return "waiting forever" if over else "waiting"
    if machine.moves(state, t):
        return "able to move"
    return "unable to move"
