"""Exploring the reference interpreter's states (machine.py): every execution, a schedule followed, or one thread alone.

- `explore(program)`: breadth-first over every reachable state: the verdict of each property,
  and the shortest trace of each violation;
- `follow(machine, ...)`: the states a schedule of (thread, line) steps reaches (`replay` in
  oracles/interpret.py checks a z3 counterexample with it);
- `run_alone`: one thread alone from a memory, to its end (study/cost.py).
One random or chosen schedule (`objcg-prove simulate`) is `simulate` in oracles/interpret.py.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..lang import ir
from ..lang.diagnostics import Diagnostic, Span, UserError
from .machine import DEFAULT_MAX_STATES, Machine, State, StateLimit, StepRecord
from .run import Access, Locals, Memory, _Blocked, _Crash, _NeedChoice, _Run


@dataclass(frozen=True)
class Found:
    """A property violation: the property, the words, and the schedule that reaches it."""

    name: str
    kind: str
    message: str
    steps: tuple[StepRecord, ...]


@dataclass
class Exploration:
    """What the explicit-state search found: the violations, the states visited, whether it finished."""

    violations: dict[str, Found] = field(default_factory=dict)
    properties: list[tuple[str, str]] = field(default_factory=list)   # (name, kind)
    states: int = 0
    complete: bool = True         # False when the state limit stopped the search
    # with explore(keep_finals=True): every state in which no thread can move, as its memory
    # and each thread's status (done, dead, run: blocked for good). study/mutate.py compares them.
    finals: set[tuple[Memory, tuple[str, ...]]] = field(default_factory=set)

    def status(self, name: str) -> str:
        if name in self.violations:
            return "violated"
        return "proved" if self.complete else "unknown"


def property_list(program: ir.Program) -> list[tuple[str, str]]:
    """The model's properties as (name, kind), in report order: the built-in ones it has
    (`ir.builtin_properties`: leak only with a refcounted object), then its own."""
    return [(p, p) for p in ir.builtin_properties(program.layout)] + [(n, k) for k, n in program.properties]


def explore(program: ir.Program, max_states: int = DEFAULT_MAX_STATES, keep_finals: bool = False) -> Exploration:
    """Breadth-first over every reachable state: the first violation of each property found
    is one with the fewest steps. With keep_finals, also the states where no thread can move."""
    machine = Machine(program)
    result = Exploration(properties=property_list(program))
    parent: dict[State, tuple[State | None, StepRecord | None]] = {}
    queue: deque[State] = deque()

    def trace(state: State) -> tuple[StepRecord, ...]:
        steps = []
        cur: State | None = state
        while cur is not None:
            prev, rec = parent[cur]
            if rec is not None:
                steps.append(rec)
            cur = prev
        return tuple(reversed(steps))

    def note(state: State, violations: tuple[tuple[str, str, str], ...] | list[tuple[str, str, str]]) -> None:
        for name, kind, message in violations:
            if name not in result.violations:
                result.violations[name] = Found(name, kind, message, trace(state))

    for state, viols in machine.initial():
        if state not in parent:
            parent[state] = (None, None)
            queue.append(state)
        note(state, viols)
    while queue:
        state = queue.popleft()
        result.states += 1
        if result.states > max_states:
            result.complete = False
            break
        any_move = False
        for t in range(len(program.threads)):
            for move in machine.moves(state, t):
                any_move = True
                if move.state not in parent:
                    parent[move.state] = (state, move.record)
                    queue.append(move.state)
                    note(move.state, move.violations)
                elif move.violations:
                    # the same state again, with a violation on the way: its trace is this
                    # state's plus the move (not through parent[move.state], which may be a
                    # descendant of this state: a loop back to it would make trace() cycle)
                    for name, kind, message in move.violations:
                        if name not in result.violations:
                            result.violations[name] = Found(name, kind, message, trace(state) + (move.record,))
        if not any_move or machine.at_spin_loop(state):
            # a thread at a spin loop can move, yet it may wait there forever (Machine.blocked)
            note(state, machine.final_problems(state))
            if keep_finals:
                result.finals.add((state[0], tuple(ts.status for ts in state[1])))
    return result


def follow(machine: Machine, program: ir.Program, schedule: list[tuple[str, str, int]], name: str, kind: str
           ) -> tuple[bool, str]:
    """Follow a schedule of (thread, file, line) steps on `machine`, every nondet choice: does
    it violate property `name` (replay in oracles/interpret.py says when it must)? (False, why) when not."""
    index = {t.name: i for i, t in enumerate(program.threads)}
    frontier: list[tuple[State, bool]] = [(s, any(v[0] == name for v in viols)) for s, viols in machine.initial()]
    for step_no, (thread, file, line) in enumerate(schedule, 1):
        t = index.get(thread)
        if t is None:
            return False, f"step {step_no}: no thread named {thread}"
        nxt: dict[tuple[State, bool], None] = {}
        for state, hit in frontier:
            for move in machine.moves(state, t):
                if (move.record.span.file, move.record.span.line) != (file, line):
                    continue
                nxt[(move.state, hit or any(v[0] == name for v in move.violations))] = None
                if len(nxt) > DEFAULT_MAX_STATES:
                    raise StateLimit([Diagnostic(move.record.span, (
                        f"the reference interpreter gives up: more than {DEFAULT_MAX_STATES:,} states follow the "
                        f"counterexample's schedule at its step {step_no} (the nondet choices so far, combined)"))])
        if not nxt:
            return False, f"step {step_no}: thread {thread} cannot take a step at {file}:{line} there"
        frontier = list(nxt)
    for state, hit in frontier:
        if hit and kind not in ("leak", "deadlock"):
            return True, ""
        # leak, deadlock and the final block's checks are about the state at the end
        at_end = kind in ("leak", "deadlock") or all(ts.status == "done" for ts in state[1])
        if at_end and any(v[0] == name for v in machine.final_problems(state)):
            return True, ""
    return False, f"the schedule of {len(schedule)} steps runs, but {name} is not violated at its end"


# ---- one thread alone (study/cost.py) ------------------------------------------------------------
def run_alone(machine: Machine, t: int, memory: Memory, what: str, max_units: int = 10_000
              ) -> tuple[Memory, tuple[Access, ...]]:
    """Run thread `t` alone from `memory` to its end: one unit after the other, no other thread
    in between. Returns the memory at the end and every shared access, in order (study/cost.py).
    The run must be deterministic (no nondet), never wait on a false condition or assume, and
    violate nothing; otherwise a `UserError` at the unit, its message starting with `what`."""

    def bad(span: Span, message: str) -> UserError:
        return UserError([Diagnostic(span, f"{what}: {message}")])

    code = machine.code[t]
    pc = 0
    locals_: Locals = ()
    accesses: list[Access] = []
    for _ in range(max_units):
        ins = code[pc]
        if ins.kind == "end":
            return memory, tuple(accesses)
        if ins.kind == "jump":
            pc = ins.next
            continue
        if ins.kind == "again":
            raise bad(ins.span, "the path cannot go on here: this spin loop goes round again, and alone it waits forever")
        run = _Run(machine, t, memory, locals_, False, [])
        try:
            pc = machine.exec(ins, run)
        except _NeedChoice:
            raise bad(ins.span, "nondet() here: the path must be one execution, so its cost is one number") from None
        except _Blocked as blocked:
            why = "an assume is false" if blocked.assume else "it waits forever (await or spin_lock on a false condition)"
            raise bad(ins.span, f"the path cannot go on here: {why}") from None
        except _Crash:
            pass
        if run.violations:
            raise bad(ins.span, run.violations[0][2])
        memory, locals_ = tuple(run.memory), tuple(sorted(run.locals.items()))
        accesses += run.accesses
    raise bad(code[pc].span, f"the path does not end within {max_units} units (a loop that never exits?)")
