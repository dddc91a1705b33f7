"""Running one unit of a thread once (NOTE(interpreter-units) in units.py), for one list of nondet choices.

Input: the unit (an `ir.Stmt` or an expression), the memory and the thread's locals, the nondet
values to take. Output, on the run object: the memory and locals after it, the changes in words,
the violations it found, its shared accesses; or one of the exceptions below when the run
cannot complete (it needs a step, a choice, waits on a false condition, fails an access).
Word arithmetic wraps at the program's width (docs/semantics.md). machine.py runs a unit for
every choice and turns the results into states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..lang import ir
from ..lang.diagnostics import Span, UserError
from ..lang.ir import property_name

Memory = tuple[int, ...]
Locals = tuple[tuple[int, int], ...]


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


# Access kinds, named as prove/events.py names the prover's events: a read, a write, an atomic
# read-modify-write (the refcount operations get, put, kill, tryget included).
READ, WRITE, RMW = "R", "W", "RMW"


@dataclass(frozen=True)
class Access:
    """A shared access a step makes: its kind and location."""

    kind: str
    loc: int                      # layout location index


class Host(Protocol):
    """What a run needs of the machine it runs in (machine.Machine)."""

    program: ir.Program
    layout: ir.Layout
    by_address: dict[int, int]

    def show(self, value: int, pointer: bool) -> str: ...

    def describe_write(self, loc: int, old: int, new: int) -> str: ...


# ---- expressions ----------------------------------------------------------------------------
class _Eval:
    """One run of one unit, up to its expressions: the memory and locals it reads and changes,
    its shared accesses, the violations it finds (_Run adds the statements)."""

    def __init__(self, machine: Host, thread: int, memory: Memory, locals_: Locals, dry: bool,
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
        self.accesses: list[Access] = []   # the shared accesses of this unit, in order (study/cost.py)
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
        if loc.deref:   # `*pp`: the word whose address pp holds (NOTE(word-addresses) in lang/ir.py)
            assert loc.pointer is not None
            word = self.layout.word_at(self.expr(loc.pointer))
            self.access(word is not None and word in self.layout.pointer_words(loc.struct), loc.span,
                        f"NULL or invalid pointer dereferenced ('*' of a struct {loc.struct} **)")
            assert word is not None
            return word
        if loc.obj is not None:
            obj = self.object_of(loc.obj, loc.span)
        else:
            assert loc.pointer is not None
            p = self.expr(loc.pointer)
            obj = self.pointed(p, loc.struct, loc.span,
                               f"NULL or invalid pointer dereferenced ('->{loc.field}' of a struct {loc.struct} *)")
        if loc.index is not None:   # an array field's element, a run-time index: checked after the object
            ids = self.layout.element_locations(obj, loc.struct, loc.field)
            i = self.expr(loc.index)
            self.access(i < len(ids), loc.span, f"index out of bounds for '{loc.field}[{len(ids)}]'")
            return ids[i]
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
        if isinstance(e, ir.WordAddress):
            return self.layout.word_address(self.location(e.loc))   # named, not accessed
        if isinstance(e, ir.IndexFault):
            self.access(False, e.span, e.message)
            return 0   # (not reached: a failed access ends the unit)
        if isinstance(e, ir.Nondet):
            return self.choice(e.limit if e.limit is not None else mask + 1, e.span)
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def atomic(self, e: ir.AtomicOp) -> int:
        args = [self.expr(a) for a in e.args]
        loc = self.location(e.loc)
        op = e.kind
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
        if op in ir.ATOMIC_ARITH:
            arith = ir.ATOMIC_ARITH[op]
            amount = 1 if arith.by_one else args[0]
            new = {"+": r + amount, "-": r - amount, "&": r & amount, "|": r | amount, "&~": r & ~amount}[arith.operator]
            self.store(loc, new)
            return {"old": r, "new": new & mask, "none": 0}[arith.returns]
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


# ---- statements -----------------------------------------------------------------------------
class _Run(_Eval):
    """One run of one unit: memory and locals it changes, the violations it finds. The
    statements of the unit (an atomic block's inlined), on the expressions of _Eval."""

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
