"""Reference interpreter: explicit-state exploration of a resolved program (docs/semantics.md).

Input: an `ir.Program` (shared with the prover: parser and resolver only). Output: per
property, violated (with the shortest trace, found breadth-first) or not, over *every*
execution, unbounded: loops run as long as they like, and states are hashed, so a finite
state space is explored completely. It shares no code with unroll.py or encode.py, so it is
independent evidence for the z3 engine:

- `explore(program)`: every reachable state; the verdict of each property;
- `replay(program, schedule, property)`: does this schedule of threads (a z3 counterexample)
  really violate the property?
- `simulate`: one random or chosen schedule (the command `objcg-prove simulate` is cli/simulate.py).

NOTE(interpreter-units): a thread's code is compiled to units (statements, branch conditions,
return values, procedure arguments), as docs/semantics.md "Threads, statements and steps"
defines them. A thread always rests right before a unit that must be a step (it touches shared
memory or waits) or at its end: the pure units after a step run with that step. Whether a unit
is a step is decided by running it: a pure run raises `_NeedsStep` at its first access.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

from ..lang import ir
from ..lang.diagnostics import Diagnostic, Span, UserError
from ..lang.ir import property_name

Memory = tuple[int, ...]
Locals = tuple[tuple[int, int], ...]

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
    counterexample that meets it prints the counterexample marked as not replayed (batch.py)."""


class _NeedsStep(Exception):
    """A pure run reached a shared access or a wait: the unit is a step."""


class _NeedChoice(Exception):
    def __init__(self, limit: int, span: Span) -> None:
        self.limit = limit
        self.span = span


class _Blocked(Exception):
    """The unit's wait condition (await, spin_lock) or an assume is false now."""

    def __init__(self, assume: bool) -> None:
        self.assume = assume


class _Crash(Exception):
    """A failed access (docs/semantics.md, "Failed accesses"): the step ran up to it, and the
    thread stops."""


# Access kinds, named as events.py names the prover's events: a read, a write, an atomic
# read-modify-write (the refcount operations get, put, kill, tryget included).
READ, WRITE, RMW = "R", "W", "RMW"


@dataclass(frozen=True)
class Access:
    kind: str
    loc: int                      # layout location index


@dataclass(frozen=True)
class Instr:
    kind: str                     # unit | branch | ret | jump | end
    span: Span
    stmt: ir.Stmt | None = None
    expr: ir.Expr | None = None
    result: ir.LocalVar | None = None
    next: int = -1
    alt: int = -1


@dataclass(frozen=True)
class ThreadState:
    pc: int
    locals: Locals
    status: str                   # run | done | stuck (false assume) | dead (after a failed access) | spin (loops forever without a step)


State = tuple[Memory, tuple[ThreadState, ...]]


# a thread state on its way through pure units, with the violations met so far (advance())
_Node = tuple[ThreadState, tuple[tuple[str, str, str], ...]]


@dataclass(frozen=True)
class StepRecord:
    thread: str
    span: Span
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """A property violation: the property, the words, and the schedule that reaches it."""

    name: str
    kind: str
    message: str
    steps: tuple[StepRecord, ...]


@dataclass
class Exploration:
    violations: dict[str, Found] = field(default_factory=dict)
    properties: list[tuple[str, str]] = field(default_factory=list)   # (name, kind)
    states: int = 0
    complete: bool = True         # False when the state limit stopped the search
    # with explore(keep_finals=True): every state in which no thread can move, as its memory
    # and each thread's status (done, dead, run: blocked for good). mutate.py compares them.
    finals: set[tuple[Memory, tuple[str, ...]]] = field(default_factory=set)

    def status(self, name: str) -> str:
        if name in self.violations:
            return "violated"
        return "proved" if self.complete else "unknown"


# ---- compiling threads to units -------------------------------------------------------------
class _Compiler:
    def __init__(self, program: ir.Program, hints: tuple[int, ...] | None = None) -> None:
        self.program = program
        # replay only (NOTE(choice-limits)): the values tried for a nondet() with too many, and
        # the give-up they stood in for (then a replay that does not violate is no answer)
        self.hints = hints
        self.narrowed: StateLimit | None = None
        self.runs = 0   # units run since the last reset_runs() (NOTE(choice-limits))
        self.code: list[Instr] = []

    def emit(self, instr: Instr) -> int:
        self.code.append(instr)
        return len(self.code) - 1

    def patch(self, pc: int, **changes: int) -> None:
        from dataclasses import replace

        self.code[pc] = replace(self.code[pc], **changes)  # type: ignore[arg-type]

    def thread(self, t: ir.Thread) -> list[Instr]:
        self.code = []
        ends: list[int] = []
        self.block(t.body, loop=None, ret=(ends, None))
        end = self.emit(Instr("end", t.span))
        for pc in ends:
            self.patch(pc, next=end)
        for pc, ins in enumerate(self.code):
            if ins.next == -1 and ins.kind != "end":
                self.patch(pc, next=pc + 1)
        return self.code

    def block(self, stmts: tuple[ir.Stmt, ...], loop: tuple[list[int], list[int]] | None,
              ret: tuple[list[int], ir.LocalVar | None]) -> None:
        for st in stmts:
            self.stmt(st, loop, ret)

    def stmt(self, st: ir.Stmt, loop: tuple[list[int], list[int]] | None,
             ret: tuple[list[int], ir.LocalVar | None]) -> None:
        if isinstance(st, ir.Seq):
            self.block(st.body, loop, ret)
        elif isinstance(st, (ir.AssignLocal, ir.AssignShared, ir.Eval, ir.Check, ir.Assume, ir.Await, ir.Atomic)):
            self.emit(Instr("unit", st.span, stmt=st))
        elif isinstance(st, ir.If):
            br = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
            self.block(st.then, loop, ret)
            jump = self.emit(Instr("jump", st.span))
            self.patch(br, next=br + 1, alt=len(self.code))
            self.block(st.other, loop, ret)
            self.patch(jump, next=len(self.code))
        elif isinstance(st, ir.Loop):
            breaks: list[int] = []
            conts: list[int] = []
            if st.cond_first:
                head = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
                self.block(st.body, (breaks, conts), ret)
                step_at = len(self.code)
                self.block(st.step, loop, ret)
                self.emit(Instr("jump", st.span, next=head))
                exit_pc = len(self.code)
                self.patch(head, next=head + 1, alt=exit_pc)
            else:
                start = len(self.code)
                self.block(st.body, (breaks, conts), ret)
                step_at = len(self.code)
                self.block(st.step, loop, ret)
                cond = self.emit(Instr("branch", _span(st.cond, st.span), expr=st.cond))
                exit_pc = len(self.code)
                self.patch(cond, next=start, alt=exit_pc)
            for pc in breaks:
                self.patch(pc, next=exit_pc)
            for pc in conts:
                self.patch(pc, next=step_at)
        elif isinstance(st, ir.Break):
            assert loop is not None
            loop[0].append(self.emit(Instr("jump", st.span)))
        elif isinstance(st, ir.Continue):
            assert loop is not None
            loop[1].append(self.emit(Instr("jump", st.span)))
        elif isinstance(st, ir.Return):
            targets, result = ret
            targets.append(self.emit(Instr("ret", st.span, expr=st.value, result=result)))
        elif isinstance(st, ir.CallProc):
            proc = self.program.proc(st.proc)
            for p, a in zip(proc.params, st.args):
                self.emit(Instr("unit", _span(a, st.span), stmt=ir.AssignLocal(p, a, _span(a, st.span))))
            returns: list[int] = []
            self.block(proc.body, None, (returns, st.result))
            if st.result is not None:
                # a procedure with a value that ends without `return` returns 0 (docs/semantics.md)
                self.emit(Instr("unit", st.span, stmt=ir.AssignLocal(
                    st.result, ir.Const(0, st.result.type, st.span), st.span)))
            after = len(self.code)
            for pc in returns:
                self.patch(pc, next=after)
        else:
            raise AssertionError(f"unhandled statement {type(st).__name__}")


def _span(node: object, default: Span) -> Span:
    return getattr(node, "span", default)


# ---- running one unit -----------------------------------------------------------------------
class _Run:
    """One run of one unit: memory and locals it changes, the violations it finds."""

    def __init__(self, machine: "Machine", thread: int, memory: Memory, locals_: Locals, dry: bool,
                 choices: list[int], assumes: bool = True) -> None:
        self.m = machine
        self.assumes = assumes   # False: a false assume does not stop the run (Machine.blocked)
        self.layout = machine.layout
        self.thread = thread
        self.memory = list(memory)
        self.locals = dict(locals_)
        self.dry = dry
        self.choices = choices
        self.used = 0
        self.accessed = False
        self.waits = False
        self.violations: list[tuple[str, str, str]] = []   # (name, kind, message)
        self.changes: list[str] = []
        self.accesses: list[Access] = []   # the shared accesses of this unit, in order (cost.py)
        self.mask = (1 << self.layout.width) - 1

    # -- memory
    def touch(self) -> None:
        if self.dry:
            raise _NeedsStep()
        self.accessed = True

    def load(self, loc: int) -> int:
        self.touch()
        return self.memory[loc]

    def store(self, loc: int, value: int) -> None:
        self.touch()
        old = self.memory[loc]
        value &= self.mask
        self.memory[loc] = value
        self.changes.append(self.m.describe_write(loc, old, value))

    def note_access(self, kind: str, loc: int) -> None:
        self.accesses.append(Access(kind, loc))

    def fail(self, kind: str, name: str, message: str) -> None:
        self.violations.append((name, kind, message))

    def choice(self, limit: int, span: Span) -> int:
        if self.used < len(self.choices):
            v = self.choices[self.used]
            self.used += 1
            return v
        raise _NeedChoice(limit, span)

    def uaf(self, ok: bool, span: Span, message: str) -> None:
        """A uaf check that is not an access (division by zero, a refcount on a released
        object): the unit goes on."""
        if not ok:
            self.fail("uaf", "uaf", f"{message} at {span.file}:{span.line}")

    def access(self, ok: bool, span: Span, message: str) -> None:
        """An access that is not valid (an index out of bounds, an invalid pointer) fails: a uaf, and the unit ends there. What it did before stays done (its
        events happened, the step runs whatever its later waits and assumes would say), nothing
        after it happens, and the thread stops for good ("dead": neither finished nor blocked).
        docs/semantics.md, "Failed accesses"."""
        if ok:
            return
        if self.dry:
            raise _NeedsStep()   # a failed access is still the unit's access: a step
        self.uaf(False, span, message)
        self.accessed = True
        raise _Crash()

    # -- locations
    def object_of(self, ref: ir.ObjectRef, span: Span) -> int:
        if ref.index is None:
            return ref.candidates[0]
        i = self.expr(ref.index)
        self.access(i < len(ref.candidates), span, "object array index out of bounds")
        return ref.candidates[i]

    def pointed(self, p: int, struct: str, span: Span, what: str) -> int:
        obj = self.m.by_address.get(p)
        self.access(obj is not None and self.layout.objects[obj].struct == struct, span, what)
        assert obj is not None
        return obj

    def location(self, loc: ir.SharedLoc) -> int:
        if loc.name:
            if loc.index is None:
                return loc.candidates[0]
            i = self.expr(loc.index)
            self.access(i < len(loc.candidates), loc.span, f"index out of bounds for '{loc.name}'")
            return loc.candidates[i]
        if loc.obj is not None:
            obj = self.object_of(loc.obj, loc.span)
        else:
            assert loc.pointer is not None
            p = self.expr(loc.pointer)
            obj = self.pointed(p, loc.struct, loc.span,
                               f"NULL or invalid pointer dereferenced ('->{loc.field}' of a struct {loc.struct} *)")
        return self.layout.field_location(obj, loc.field)

    # -- expressions (operands left to right, as docs/semantics.md says)
    def expr(self, e: ir.Expr) -> int:
        mask = self.mask
        if isinstance(e, ir.Const):
            return e.value & mask
        if isinstance(e, ir.Local):
            return self.locals.get(e.var.uid, 0)
        if isinstance(e, ir.Current):
            cur = self.m.program.threads[self.thread].current
            assert cur is not None
            return self.layout.objects[cur].address
        if isinstance(e, ir.Unary):
            v = self.expr(e.operand)
            return {"!": int(v == 0), "~": ~v & mask, "-": -v & mask}[e.op]
        if isinstance(e, ir.Binary):
            if e.op == "&&":
                return int(bool(self.expr(e.left)) and bool(self.expr(e.right)))
            if e.op == "||":
                return int(bool(self.expr(e.left)) or bool(self.expr(e.right)))
            a, b = self.expr(e.left), self.expr(e.right)
            if e.op in ("/", "%"):
                self.uaf(b != 0, e.span, "division by zero")   # not an access: the unit goes on
                if b == 0:
                    return mask if e.op == "/" else a
                return a // b if e.op == "/" else a % b
            return _arith(e.op, a, b, self.layout.width)
        if isinstance(e, ir.Ternary):
            return self.expr(e.then) if self.expr(e.cond) else self.expr(e.other)
        if isinstance(e, ir.AddressOf):
            return self.layout.objects[self.object_of(e.obj, e.span)].address
        if isinstance(e, ir.ConstField):
            if e.obj is not None:
                obj = self.object_of(e.obj, e.span)
            else:
                assert e.pointer is not None
                obj = self.pointed(self.expr(e.pointer), e.struct, e.span,
                                   f"NULL or invalid pointer dereferenced ('->{e.field}' of a struct {e.struct} *)")
            return dict(self.layout.objects[obj].const_values)[e.field]
        if isinstance(e, ir.Read):
            loc = self.location(e.loc)
            self.note_access(READ, loc)
            return self.load(loc)
        if isinstance(e, ir.AtomicOp):
            return self.atomic(e)
        if isinstance(e, ir.RefOp):
            return self.ref(e)
        if isinstance(e, ir.Nondet):
            return self.choice(e.limit if e.limit is not None else mask + 1, e.span)
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def atomic(self, e: ir.AtomicOp) -> int:
        args = [self.expr(a) for a in e.args]
        loc = self.location(e.loc)
        op = e.op
        self.note_access(WRITE if op == "spin_unlock" else RMW, loc)
        if op == "spin_lock":
            self.waits = True
            if self.dry:
                raise _NeedsStep()
            if self.load(loc) != 0:
                raise _Blocked(assume=False)
            self.store(loc, 1)
            return 0
        if op == "spin_unlock":
            self.store(loc, 0)
            return 0
        r = self.load(loc)
        mask = self.mask
        if op == "xchg":
            self.store(loc, args[0])
            return r
        if op == "cmpxchg":
            self.store(loc, args[1] if r == args[0] else r)
            return r
        if op == "try_cmpxchg":
            ok = r == args[0]
            self.store(loc, args[1] if ok else r)
            if not ok and e.out is not None:
                self.locals[e.out.uid] = r
            return int(ok)
        bit = (1 << args[0]) & mask if op in ("set_bit", "test_and_set_bit", "clear_bit", "test_and_clear_bit") and args[0] < self.layout.width else 0
        if op in ("set_bit", "test_and_set_bit"):
            self.store(loc, r | bit)
            return int(r & bit != 0)
        if op in ("clear_bit", "test_and_clear_bit"):
            self.store(loc, r & ~bit)
            return int(r & bit != 0)
        if op == "atomic_inc":
            self.store(loc, r + 1)
            return 0
        if op == "atomic_dec":
            self.store(loc, r - 1)
            return 0
        if op == "atomic_add":
            self.store(loc, r + args[0])
            return 0
        if op == "atomic_sub":
            self.store(loc, r - args[0])
            return 0
        if op == "atomic_dec_and_test":
            self.store(loc, r - 1)
            return int((r - 1) & mask == 0)
        if op == "atomic_inc_not_zero":
            self.store(loc, r + 1 if r != 0 else r)
            return int(r != 0)
        raise AssertionError(f"unhandled atomic {op}")

    def ref(self, e: ir.RefOp) -> int:
        p = self.expr(e.pointer)
        obj = self.pointed(p, e.struct, e.span, f"{e.op}() on a NULL or invalid pointer")
        loc = self.layout.refcount_location(obj)
        kill = self.layout.kill_bit
        self.note_access(READ if e.op == "refcount" else RMW, loc)
        r = self.load(loc)
        count = r & ~kill & self.mask
        if e.op == "refcount":
            return count
        if e.op == "get":
            self.uaf(count != 0, e.span, "get() on a released object (its count was already 0)")
            self.store(loc, r + 1)
            return 0
        if e.op == "put":
            self.uaf(count != 0, e.span, "put() on a released object (its count was already 0)")
            self.store(loc, r - 1)
            return 0
        if e.op == "kill":
            self.uaf(r & kill == 0, e.span, "kill() on an object already killed")
            self.uaf(count != 0, e.span, "kill() on a released object (its count was already 0)")
            self.store(loc, (r | kill) - 1)
            return 0
        if e.op == "tryget":
            self.store(loc, r + 1 if count else r)
            return int(count != 0)
        if e.op == "tryget_live":
            ok = count != 0 and r & kill == 0
            self.store(loc, r + 1 if ok else r)
            return int(ok)
        raise AssertionError(e.op)

    # -- statements of one unit
    def unit(self, st: ir.Stmt) -> None:
        if isinstance(st, ir.AssignLocal):
            self.set_local(st.var, self.expr(st.value))
        elif isinstance(st, ir.AssignShared):
            v = self.expr(st.value)
            loc = self.location(st.loc)
            self.note_access(WRITE, loc)
            self.store(loc, v)
        elif isinstance(st, ir.Eval):
            self.expr(st.expr)
        elif isinstance(st, ir.Check):
            if not self.expr(st.cond):
                name = property_name(st.kind, st.label, st.span)
                what = "lost update" if st.kind == "lost_update" else "assertion"
                self.fail(st.kind, name, f"{what} {name} failed at {st.span.file}:{st.span.line}")
        elif isinstance(st, ir.Assume):
            if not self.expr(st.cond) and self.assumes:
                raise _Blocked(assume=True)
        elif isinstance(st, ir.Await):
            self.waits = True
            if self.dry:
                raise _NeedsStep()
            if not self.expr(st.cond):
                raise _Blocked(assume=False)
        elif isinstance(st, ir.Atomic):
            self.atomic_block(st.body)
        else:
            raise AssertionError(f"unhandled unit {type(st).__name__}")

    def set_local(self, var: ir.LocalVar, value: int) -> None:
        self.locals[var.uid] = value & self.mask
        self.changes.append(f"{var.name} = {self.m.show(value & self.mask, var.type.pointer)}")

    def atomic_block(self, stmts: tuple[ir.Stmt, ...]) -> None:
        """Straight-line code inside atomic { } (loops are rejected before); calls inline."""
        for st in stmts:
            if isinstance(st, ir.Seq):
                self.atomic_block(st.body)
            elif isinstance(st, ir.If):
                self.atomic_block(st.then if self.expr(st.cond) else st.other)
            elif isinstance(st, ir.CallProc):
                proc = self.m.program.proc(st.proc)
                for p, a in zip(proc.params, st.args):
                    self.locals[p.uid] = self.expr(a)
                try:
                    self.atomic_block(proc.body)
                    value = 0
                except _Return as ret:
                    value = ret.value
                if st.result is not None:
                    self.set_local(st.result, value)
            elif isinstance(st, ir.Return):
                raise _Return(self.expr(st.value) if st.value is not None else 0)
            elif isinstance(st, ir.Loop):
                raise UserError([])  # unreachable: the unroller rejects loops in atomic blocks first
            else:
                self.unit(st)


class _Return(Exception):
    def __init__(self, value: int) -> None:
        self.value = value


def _arith(op: str, a: int, b: int, width: int) -> int:
    mask = (1 << width) - 1
    if op == "+":
        return (a + b) & mask
    if op == "-":
        return (a - b) & mask
    if op == "*":
        return (a * b) & mask
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op == "<<":
        return (a << b) & mask if b < width else 0
    if op == ">>":
        return a >> b if b < width else 0
    return int({"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


# ---- the machine ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Move:
    state: State
    record: StepRecord
    violations: tuple[tuple[str, str, str], ...]


class Machine:
    def __init__(self, program: ir.Program, hints: tuple[int, ...] | None = None) -> None:
        self.program = program
        # replay only (NOTE(choice-limits)): the values tried for a nondet() with too many, and
        # the give-up they stood in for (then a replay that does not violate is no answer)
        self.hints = hints
        self.narrowed: StateLimit | None = None
        self.runs = 0   # units run since the last reset_runs() (NOTE(choice-limits))
        self.total_runs = 0   # units run in all
        self.max_total_runs: int | None = None   # a replay's budget (MAX_REPLAY_RUNS); None: no limit
        self.layout = program.layout
        self.by_address = {o.address: o.index for o in self.layout.objects}
        compiler = _Compiler(program)
        self.code = [compiler.thread(t) for t in program.threads]

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
        (replay), a nondet() with too many values gets only the hinted ones below its limit."""
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

    def final_problems(self, state: State) -> list[tuple[str, str, str]]:
        """Leak and deadlock, for a state in which no thread can move."""
        memory, threads = state
        out = []
        if all(ts.status == "done" for ts in threads):
            leaked = []
            for o in self.layout.objects:
                if self.layout.struct(o.struct).refcounted:
                    count = memory[self.layout.refcount_location(o.index)] & (self.layout.kill_bit - 1)
                    if count:
                        leaked.append(f"{o.name} ends with count {count}")
            if leaked:
                out.append(("leak", "leak", "leak: " + "; ".join(leaked)))
        unfinished = [t for t, ts in enumerate(threads) if ts.status != "done"]
        if unfinished and all(self.blocked(state, t) for t in unfinished):
            names = ", ".join(self.program.threads[t].name for t in unfinished)
            out.append(("deadlock", "deadlock", f"deadlock: {names} wait forever"))
        return out


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


def property_list(program: ir.Program) -> list[tuple[str, str]]:
    return [("leak", "leak"), ("uaf", "uaf"), ("deadlock", "deadlock")] + [(n, k) for k, n in program.properties]


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
        if not any_move:
            note(state, machine.final_problems(state))
            if keep_finals:
                result.finals.add((state[0], tuple(ts.status for ts in state[1])))
    return result


def replay(program: ir.Program, schedule: list[tuple[str, str, int]], name: str, kind: str,
           hints: tuple[int, ...] = ()) -> tuple[bool, str]:
    """Follow a schedule of (thread, line) steps; does it violate property `name`?

    Every nondet choice is tried. For leak and deadlock the schedule must end in a state where
    the property fails; for the other properties a violation on the way counts. (False, why)
    when it does not. A nondet() with too many values to try (NOTE(choice-limits)) gets only
    the `hints` (the values the counterexample shows): a violation found so is confirmed (some
    execution has it), but none found is no answer. Raises StateLimit when the interpreter
    gives up: neither confirmed nor refuted."""
    machine = Machine(program, hints)
    machine.max_total_runs = MAX_REPLAY_RUNS
    ok, why = _replay(machine, program, schedule, name, kind)
    if not ok and machine.narrowed is not None:
        d = machine.narrowed.diagnostics[0]
        raise StateLimit([Diagnostic(d.span, (
            f"{d.message}; only the {len(hints)} values the counterexample suggests were tried, and with them "
            f"{why}"))])
    return ok, why


def _replay(machine: Machine, program: ir.Program, schedule: list[tuple[str, str, int]], name: str, kind: str
            ) -> tuple[bool, str]:
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
        if kind in ("leak", "deadlock"):
            if any(v[0] == name for v in machine.final_problems(state)):
                return True, ""
        elif hit:
            return True, ""
    return False, f"the schedule of {len(schedule)} steps runs, but {name} is not violated at its end"


# ---- `objcg-prove simulate` -----------------------------------------------------------------
def run_alone(machine: Machine, t: int, memory: Memory, what: str, max_units: int = 10_000
              ) -> tuple[Memory, tuple[Access, ...]]:
    """Run thread `t` alone from `memory` to its end: one unit after the other, no other thread
    in between. Returns the memory at the end and every shared access, in order (cost.py).
    The run must be deterministic (no nondet), never wait on a false condition or assume, and
    violate nothing; otherwise a `UserError` at the unit, its message starting with `what`."""
    from ..lang.diagnostics import Diagnostic

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


def simulate(program: ir.Program, seed: int, schedule: list[str] | None, max_steps: int
             ) -> Iterator[tuple[StepRecord | None, tuple[tuple[str, str, str], ...], str]]:
    """Run one schedule: the given thread names in order, else random (seeded) choices."""
    machine = Machine(program)
    rng = random.Random(seed)
    starts = machine.initial()
    state, viols = starts[rng.randrange(len(starts))]
    if viols:
        yield None, viols, ""
    index = {t.name: i for i, t in enumerate(program.threads)}
    for n in range(max_steps):
        if schedule is not None:
            if n >= len(schedule):
                yield None, (), "end of the given schedule"
                return
            t = index.get(schedule[n])
            if t is None:
                yield None, (), f"no thread named {schedule[n]}"
                return
            options = machine.moves(state, t)
            if not options:
                yield None, (), f"thread {schedule[n]} cannot move now"
                return
        else:
            options = [m for t in range(len(program.threads)) for m in machine.moves(state, t)]
            if not options:
                problems = machine.final_problems(state)
                yield None, tuple(problems), "no thread can move: the run is over"
                return
        move = options[rng.randrange(len(options))]
        state = move.state
        yield move.record, move.violations, ""
    yield None, (), f"stopped after {max_steps} steps"
