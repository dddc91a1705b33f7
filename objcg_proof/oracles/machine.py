"""The reference interpreter's machine: the states of a program and the moves between them.

Input: an `ir.Program`, its threads compiled to units (units.py). Output: the initial states
(`Machine.initial`), each thread's moves from a state (`Machine.moves`: one step and the pure
units after it, every nondet choice), and the problems of a state where no thread can move
(`Machine.final_problems`: leak, the `final` block's checks, deadlock). A unit is run by
run.py; explore.py searches the states. The limits below make the interpreter give up
(StateLimit) instead of running for hours.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang import ir
from ..lang.diagnostics import Diagnostic, Span, UserError
from ..lang.ir import property_name
from .run import Locals, Memory, _Blocked, _Crash, _NeedChoice, _NeedsStep, _Run
from .units import Instr, _Compiler

DEFAULT_MAX_STATES = 200_000
MAX_PURE_UNITS = 100_000   # units a thread may run between two steps before the interpreter gives up
# NOTE(choice-limits): every value of a nondet() is tried, one run of the unit each. A nondet()
# with more values than MAX_CHOICE_VALUES (a plain nondet() at width 32 or 64), or a unit whose
# choices combine to more than MAX_UNIT_RUNS runs, makes the interpreter give up (StateLimit) at
# once, rather than run for hours or out of memory. Width 16 (65,536 values) is within both.
# Choices also multiply across units: one move (a step and the pure units after it) may run
# units at most MAX_MOVE_RUNS times, and a replay follows at most DEFAULT_MAX_STATES states and
# runs units at most MAX_REPLAY_RUNS times in all.
MAX_CHOICE_VALUES = 1 << 16
MAX_UNIT_RUNS = 1 << 18
MAX_MOVE_RUNS = 1 << 19    # runs of units for one move: its step and the pure units after it, every choice
MAX_REPLAY_RUNS = 1 << 20  # runs of units for a whole replay, every state and choice (NOTE(choice-limits))


class StateLimit(UserError):
    """The interpreter gives up (too many starting states, or a thread that runs on without a
    step, a nondet() with too many values: NOTE(choice-limits)): no answer, never a verdict.
    simulate reports it as a diagnostic at the place (exit 2); the prover's replay of a
    counterexample that meets it prints the counterexample marked as not replayed (runner/batch.py)."""


@dataclass(frozen=True)
class ThreadState:
    """One thread of an interpreter state: where it is, its locals and whether it can run."""

    pc: int
    locals: Locals
    status: str                   # run | done | stuck (false assume) | dead (after a failed access) | spin (loops forever without a step)


State = tuple[Memory, tuple[ThreadState, ...]]


# a thread state on its way through pure units, with the violations met so far (advance())
_Node = tuple[ThreadState, tuple[tuple[str, str, str], ...]]


@dataclass(frozen=True)
class StepRecord:
    """One step the interpreter ran, as a trace shows it."""

    thread: str
    span: Span
    changes: tuple[str, ...]


# ---- the machine ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Move:
    """A step from a state: the state after it, its record and the violations it reached."""

    state: State
    record: StepRecord
    violations: tuple[tuple[str, str, str], ...]


class Machine:
    """A program's states and the moves between them; its threads compiled to units once."""

    def __init__(self, program: ir.Program, hints: tuple[int, ...] | None = None) -> None:
        self.program = program
        # replay only (NOTE(choice-limits)): the values tried for a nondet() with too many, and
        # the give-up they stood in for (then a replay that does not violate is no answer)
        self.hints = hints
        self.hinted_above = MAX_CHOICE_VALUES   # a nondet() with more values gets only the hints
        self.narrowed: StateLimit | None = None
        self.runs = 0   # units run since the last reset_runs() (NOTE(choice-limits))
        self.total_runs = 0   # units run in all
        self.max_total_runs: int | None = None   # a replay's budget (MAX_REPLAY_RUNS); None: no limit
        self.layout = program.layout
        self.by_address = {o.address: o.index for o in self.layout.objects}
        compiler = _Compiler(program)
        self.code = [compiler.thread(t) for t in program.threads]
        # each spin loop's iteration, (first pc, pc of its `again`): NOTE(spin-again) in units.py
        self.spin_ranges = [[(ins.alt, pc) for pc, ins in enumerate(code) if ins.kind == "again"] for code in self.code]

    # -- printing
    def show(self, value: int, pointer: bool) -> str:
        from ..lang.values import render

        return render(value, pointer, self.layout)

    def describe_write(self, loc: int, old: int, new: int) -> str:
        from ..lang.values import render, render_refcount

        info = self.layout.locations[loc]
        if info.refcount_of is not None:
            a, b = render_refcount(old, self.layout), render_refcount(new, self.layout)
        else:
            a, b = render(old, info.type.pointer, self.layout), render(new, info.type.pointer, self.layout)
        return f"{info.name} stays {b}" if old == new else f"{info.name}: {a} -> {b}"

    # -- states
    def initial(self) -> list[tuple[State, tuple[tuple[str, str, str], ...]]]:
        memory: Memory = tuple(loc.init for loc in self.layout.locations)
        states: list[tuple[Memory, tuple[ThreadState, ...], tuple[tuple[str, str, str], ...]]] = [(memory, (), ())]
        for t in range(len(self.program.threads)):
            self.runs = 0
            starts = self.advance(t, ThreadState(0, (), "run"), memory)   # pure units: memory stays
            if len(states) * len(starts) > DEFAULT_MAX_STATES:   # every combination of the first choices
                raise StateLimit([Diagnostic(self.code[t][0].span, (
                    f"the reference interpreter gives up: more than {DEFAULT_MAX_STATES:,} starting states (the "
                    f"nondet choices of threads {self.program.threads[0].name} to {self.program.threads[t].name} "
                    "before their first step, combined)"))])
            states = [(mem, threads + (ts,), viols + found) for mem, threads, viols in states for ts, found in starts]
        return [((mem, threads), viols) for mem, threads, viols in states]

    def advance(self, t: int, ts: ThreadState, memory: Memory) -> list[tuple[ThreadState, tuple[tuple[str, str, str], ...]]]:
        """Run the pure units from `ts` on: every way (nondet) to the next step or the end."""
        out: list[tuple[ThreadState, tuple[tuple[str, str, str], ...]]] = []
        work: list[tuple[ThreadState, tuple[tuple[str, str, str], ...]]] = [(ts, ())]
        code = self.code[t]
        # NOTE(pure-cycles): a pure loop that nondet choices can keep going (`while (1) { if
        # (nondet(2)) continue; ... }`) comes back to a (position, locals) already seen: going
        # round again shows nothing new (a thread that loops forever without a step is, to the
        # other threads, one that stopped), so each is expanded once
        seen: set[tuple[ThreadState, tuple[tuple[str, str, str], ...]]] = set()
        succ: dict[_Node, list[_Node]] = {}
        guard = 0
        while work:
            node = work.pop()
            if node in seen:
                continue
            cur, found = node
            seen.add(node)
            succ[node] = []
            guard += 1
            if guard > MAX_PURE_UNITS:
                raise StateLimit([Diagnostic(code[cur.pc].span, (
                    f"the reference interpreter gives up: thread {self.program.threads[t].name} runs more than "
                    f"{MAX_PURE_UNITS:,} units without a step from here"))])
            if cur.status != "run":
                out.append((cur, found))
                continue
            ins = code[cur.pc]
            if ins.kind == "end":
                out.append((ThreadState(cur.pc, cur.locals, "done"), found))
                continue
            if ins.kind == "jump":
                succ[node].append((ThreadState(ins.next, cur.locals, "run"), found))
                work.append(succ[node][-1])
                continue
            if ins.kind == "again":
                # NOTE(spin-again) in units.py: an iteration that goes round again stops the
                # thread, as a false assume does (neither finished nor blocked)
                out.append((ThreadState(cur.pc, cur.locals, "stuck"), found))
                continue
            results, step = self.run(t, ins, cur, memory, dry=True)
            if step:
                # NOTE(mixed-units): whether a unit is a step depends on the execution (a unit
                # is a step when it performs an event or waits, docs/semantics.md): with nondet
                # choices, some may make it a step and others not. The thread may then rest
                # here (a choice that makes it a step, taken when the step runs) or go on at
                # once with the choices that make it pure (`results`).
                out.append((cur, found))
            for nxt, _, _, viols, _ in results:
                succ[node].append((nxt, found + tuple(v for v in viols if v not in found)))
                work.append(succ[node][-1])
        # a way on that loops forever without a step (`while (1) { if (1) continue; ... }`,
        # or a loop that a nondet choice keeps going): the step before still ran; the thread
        # then spins for good, never moving again and never finishing, like a thread that
        # stopped (it is not blocked: spinning is not waiting, docs/semantics.md), with the
        # violations of the checks it reached on the way. This is a way on even when other
        # choices reach a step or the end: one spinning state per set of violations.
        spins: dict[tuple[tuple[str, str, str], ...], ThreadState] = {}
        for cur, found in _on_cycles(succ):
            spins.setdefault(found, ThreadState(cur.pc, cur.locals, "spin"))
        out.extend((ts_, found) for found, ts_ in spins.items())
        return out

    def run(self, t: int, ins: Instr, ts: ThreadState, memory: Memory, dry: bool, assumes: bool = True
            ) -> tuple[list[tuple[ThreadState, Memory, tuple[str, ...], tuple[tuple[str, str, str], ...], bool]], bool]:
        """Run one unit for every nondet choice. Returns the results and, for a dry run, whether
        some choice makes the unit a step (those choices give no result in a dry run).
        Each result: next thread state, memory, changes, violations, whether it is a step (it
        touched memory, waited or failed an access). With `assumes` False, a false assume does
        not stop the unit (for `blocked`)."""
        results = []
        needs_step = False
        pending: list[list[int]] = [[]]
        runs = 0   # the runs of this unit started or pending (NOTE(choice-limits))
        while pending:
            choices = pending.pop()
            runs += 1
            self.runs += 1
            self.total_runs += 1
            if self.max_total_runs is not None and self.total_runs > self.max_total_runs:
                raise StateLimit([Diagnostic(ins.span, (
                    f"the reference interpreter gives up: following the counterexample ran units more than "
                    f"{self.max_total_runs:,} times (its nondet choices, combined over its steps)"))])
            if self.runs > MAX_MOVE_RUNS:
                raise StateLimit([Diagnostic(ins.span, (
                    f"the reference interpreter gives up: thread {self.program.threads[t].name} runs more than "
                    f"{MAX_MOVE_RUNS:,} units for one step here (every combination of the nondet choices of the "
                    "step and of the units after it)"))])
            run = _Run(self, t, memory, ts.locals, dry, choices, assumes)
            try:
                nxt = self.exec(ins, run)
            except _NeedsStep:
                needs_step = True
                continue
            except _NeedChoice as need:
                pending.extend(choices + [v] for v in self.choice_values(t, ins, need, runs + len(pending)))
                continue
            except _Blocked as b:
                if b.assume:
                    results.append((ThreadState(ts.pc, ts.locals, "stuck"), memory, (), tuple(run.violations),
                                    run.accessed or run.waits))
                continue
            except _Crash:
                # a failed access (`access`): the step ran up to it; the thread stops
                changes = tuple(run.changes) + ("failed access: the thread stops here",)
                results.append((ThreadState(ts.pc, ts.locals, "dead"), tuple(run.memory), changes,
                                tuple(run.violations), True))
                continue
            locals_ = tuple(sorted(run.locals.items()))
            results.append((ThreadState(nxt, locals_, "run"), tuple(run.memory), tuple(run.changes),
                            tuple(run.violations), run.accessed or run.waits))
        return list(dict.fromkeys(results)), needs_step

    def choice_values(self, t: int, ins: Instr, need: _NeedChoice, runs: int) -> range | list[int]:
        """The values to try for a nondet() in unit `ins`, `runs` runs of it being started or
        pending already; StateLimit when they are too many (NOTE(choice-limits)). With hints
        (replay), a nondet() with more than `hinted_above` values gets only the hinted ones below its
        limit; beyond MAX_CHOICE_VALUES that narrows the replay (`narrowed`)."""
        thread = self.program.threads[t].name
        values: range | list[int] = range(need.limit)
        if need.limit > MAX_CHOICE_VALUES:
            limit = StateLimit([Diagnostic(need.span, (
                f"the reference interpreter gives up: this nondet() in thread {thread} has {need.limit:,} values "
                f"(at most {MAX_CHOICE_VALUES:,} are tried one by one; a nondet(n) with a small n, or a smaller "
                "width, stays within it)"))])
            if self.hints is None:
                raise limit
            self.narrowed = self.narrowed or limit
        if self.hints is not None and need.limit > self.hinted_above:
            values = [v for v in self.hints if v < need.limit]
        if runs + len(values) > MAX_UNIT_RUNS:
            raise StateLimit([Diagnostic(ins.span, (
                f"the reference interpreter gives up: the nondet() choices of this statement in thread {thread} "
                f"combine to more than {MAX_UNIT_RUNS:,} runs"))])
        return values

    def exec(self, ins: Instr, run: _Run) -> int:
        if ins.kind == "unit":
            assert ins.stmt is not None
            run.unit(ins.stmt)
            return ins.next
        if ins.kind == "branch":
            assert ins.expr is not None
            return ins.next if run.expr(ins.expr) else ins.alt
        if ins.kind == "ret":
            value = run.expr(ins.expr) if ins.expr is not None else 0
            if ins.result is not None:
                run.set_local(ins.result, value)
            return ins.next
        raise AssertionError(ins.kind)

    def moves(self, state: State, t: int) -> list[_Move]:
        """Thread t takes one step (and the pure units after it), every possible way."""
        memory, threads = state
        ts = threads[t]
        if ts.status != "run":
            return []
        ins = self.code[t][ts.pc]
        if ins.kind not in ("unit", "branch", "ret"):
            return []
        self.runs = 0
        results, _ = self.run(t, ins, ts, memory, dry=False)
        out = []
        name = self.program.threads[t].name
        for nxt, mem, changes, viols, is_step in results:
            if nxt.status == "stuck":
                continue   # a false assume: this execution does not exist
            if not is_step:
                continue   # choices that make the unit pure: advance() took them (NOTE(mixed-units))
            for after, found in self.advance(t, nxt, mem):
                new_threads = threads[:t] + (after,) + threads[t + 1:]
                out.append(_Move((mem, new_threads), StepRecord(name, ins.span, changes), viols + found))
        return out

    def blocked(self, state: State, t: int) -> bool:
        """Thread t rests at a wait whose condition is false (it has no move): docs/semantics.md,
        "deadlock": the wait condition alone decides, so the step is run with its assumes taken
        as true, and it is blocked when every choice stops at a false wait (none completes, none
        reaches a failed access first)."""
        memory, threads = state
        ts = threads[t]
        if ts.status != "run":
            return False
        head = self.spin_head(t, ts.pc)
        if head is not None:
            return self.spins_forever(t, head, ts, memory)
        ins = self.code[t][ts.pc]
        if ins.kind != "unit" or not isinstance(ins.stmt, (ir.Await, ir.Eval, ir.Atomic)):
            return False
        # every choice must stop: a few hinted values (replay) cannot say that, so all are tried
        hints, self.hints = self.hints, None
        self.runs = 0
        try:
            results, _ = self.run(t, ins, ts, memory, dry=False, assumes=False)
        finally:
            self.hints = hints
        return results == [] and _waits(ins.stmt)

    def spin_head(self, t: int, pc: int) -> int | None:
        """The first pc of the spin loop whose iteration `pc` is in, or None."""
        for head, again in self.spin_ranges[t]:
            if head <= pc <= again:
                return head
        return None

    def at_spin_loop(self, state: State) -> bool:
        """Some thread rests inside a spin loop's iteration."""
        return any(ts.status == "run" and self.spin_head(t, ts.pc) is not None for t, ts in enumerate(state[1]))

    def spins_forever(self, t: int, head: int, ts: ThreadState, memory: Memory) -> bool:
        """docs/semantics.md, "Spin loops": one iteration of the loop from its first pc, run
        atomically on `memory`, goes round again without failing an access. The iteration only
        reads and sets locals it assigns before reading them (lang/spin_loops.py), so where in
        it the thread rests does not matter."""
        code, pc, locals_ = self.code[t], head, ts.locals
        for _ in range(MAX_PURE_UNITS):
            if self.spin_head(t, pc) != head:
                return False   # it left the loop
            ins = code[pc]
            if ins.kind == "again":
                return True
            if ins.kind == "jump":
                pc = ins.next
                continue
            run = _Run(self, t, memory, locals_, False, [], True)
            try:
                pc = self.exec(ins, run)
            except _Crash:
                return False   # it could move, and fail there
            locals_ = tuple(sorted(run.locals.items()))
        raise AssertionError("a spin loop's iteration has no loop in it")

    def final_problems(self, state: State) -> list[tuple[str, str, str]]:
        """Leak, the final block's checks and deadlock, for a state in which no thread can move."""
        memory, threads = state
        out = []
        if all(ts.status == "done" for ts in threads):
            final = self.program.final
            held = self.held_at_end(memory)
            leaked = []
            for o in self.layout.objects:
                if self.layout.struct(o.struct).refcounted:
                    count = memory[self.layout.refcount_location(o.index)] & (self.layout.kill_bit - 1)
                    if count != held.get(o.index, 0):
                        kept = f" ({held[o.index]} held by the final block)" if o.index in held else ""
                        leaked.append(f"{o.name} ends with count {count}{kept}")
            if leaked:
                out.append(("leak", "leak", "leak: " + "; ".join(leaked)))
            for c in final.checks if final is not None else ():
                if not self.final_value(c.cond, memory):
                    name = property_name(c.kind, c.label, c.span)
                    out.append((name, c.kind, f"assertion {name} failed at the end of the run, checked by the final "
                                              f"block at {c.span.file}:{c.span.line}"))
        unfinished = [t for t, ts in enumerate(threads) if ts.status != "done"]
        if unfinished and all(self.blocked(state, t) for t in unfinished):
            names = ", ".join(self.program.threads[t].name for t in unfinished)
            out.append(("deadlock", "deadlock", f"deadlock: {names} wait forever"))
        return out


    def final_value(self, e: ir.Expr, memory: Memory) -> int:
        """A final block's expression on the memory at the end (pure and total: lang/final.py)."""
        run = _Run(self, 0, memory, (), False, [])
        value = run.expr(e)
        assert not run.violations and tuple(run.memory) == memory, "a final expression is pure"
        return value

    def held_at_end(self, memory: Memory) -> dict[int, int]:
        """Object index -> how many of the final block's `holds` name it on this memory."""
        held: dict[int, int] = {}
        for h in self.program.final.holds if self.program.final is not None else ():
            obj = self.by_address.get(self.final_value(h.pointer, memory))
            if obj is not None and self.layout.struct(self.layout.objects[obj].struct).refcounted:
                held[obj] = held.get(obj, 0) + 1
        return held


def _on_cycles(succ: dict[_Node, list[_Node]]) -> list[_Node]:
    """The nodes of the graph `succ` (node -> successors) that lie on a cycle, in a stable
    order (Tarjan's strongly connected components, iteratively)."""
    index: dict[_Node, int] = {}
    low: dict[_Node, int] = {}
    stack: list[_Node] = []
    on_stack: set[_Node] = set()
    out: list[_Node] = []
    for root in succ:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        frames = [(root, iter(succ[root]))]
        while frames:
            v, it = frames[-1]
            w = next(it, None)
            if w is not None:
                if w not in succ:
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    frames.append((w, iter(succ[w])))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            frames.pop()
            if frames:
                low[frames[-1][0]] = min(low[frames[-1][0]], low[v])
            if low[v] == index[v]:
                component: list[_Node] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or v in succ[v]:
                    out.extend(reversed(component))
    return out


def _waits(st: ir.Stmt) -> bool:
    if isinstance(st, ir.Await):
        return True
    if isinstance(st, ir.Eval):
        return isinstance(st.expr, ir.AtomicOp) and st.expr.op == "spin_lock"
    if isinstance(st, ir.Atomic):
        return any(_waits(s) for s in st.body)
    return False
