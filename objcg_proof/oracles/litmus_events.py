"""A litmus test's threads as LKMM events, one candidate path at a time (docs/lkmm.md, section 2).

Input: a `litmus_syntax.LitmusTest`. Output: for each thread, every path its code can take,
as a `ThreadPath`: the events it makes in program order (reads, writes, fences, each with its
LKMM tags), the read-modify-write pairs, the address, data and control dependencies, and the
final values of its registers. A path is fixed by the value each of its reads returns; the
values tried for a read of location x are those some path of some thread (or the initial
state) can write to x (`possible_writes`, a fixed point), so every read can be matched with a
write later, by oracles/lkmm.py, which picks reads-from and coherence and applies the axioms.

Values are ints, or the name of a shared variable for its address (`&x`, a parameter `int *x`).
The primitives and their events follow linux-kernel.def; what the kernel's tests use beyond it
(`atomic_add_unless`) follows herd7; spinlocks follow lock.cat. SRCU is refused here with a clear
error until oracles/lkmm.py has its axioms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from ..lang import litmus_syntax as ls
from ..lang import syntax as s
from ..lang.diagnostics import Span, error, printable

Value = int | str   # a number, or the address of the shared variable of that name

MAX_VALUES = 64      # values a location may hold, at most (a test that computes more is refused)


@dataclass(frozen=True)
class Event:
    """One LKMM event of a thread: `kind` R, W or F; `loc` and `value` for R and W; `tags` its
    classes (once, acquire, release, noreturn, rmw for an event of an RMW instruction, and for F
    its barrier: mb, rmb, wmb, before-atomic, after-atomic, barrier). No marking tag: plain."""

    kind: str
    loc: str | None
    value: Value | None
    tags: frozenset[str]
    span: Span


@dataclass(frozen=True)
class ThreadPath:
    """One path of one thread: its events in program order (indexes into `events`), the RMW
    pairs, dependencies from a read to a later event, and its registers at the end."""

    thread: int
    events: tuple[Event, ...]
    rmw: frozenset[tuple[int, int]]
    addr: frozenset[tuple[int, int]]
    data: frozenset[tuple[int, int]]
    ctrl: frozenset[tuple[int, int]]
    registers: tuple[tuple[str, Value], ...]


class _Infeasible(Exception):
    """The path cannot happen: a spin_lock() that reads the lock held (herd7 has only the
    executions in which every spin_lock() takes the lock)."""


class _NeedValue(Exception):
    """The path reached a read beyond the values chosen so far."""

    def __init__(self, loc: str) -> None:
        self.loc = loc


@dataclass
class _Run:
    """The interpretation of one thread under a list of read values."""

    test: ls.LitmusTest
    thread: ls.Thread
    reads: tuple[Value, ...]
    events: list[Event] = field(default_factory=list)
    rmw: set[tuple[int, int]] = field(default_factory=set)
    addr: set[tuple[int, int]] = field(default_factory=set)
    data: set[tuple[int, int]] = field(default_factory=set)
    ctrl_from: set[int] = field(default_factory=set)    # reads every later event depends on by control
    ctrl: set[tuple[int, int]] = field(default_factory=set)
    regs: dict[str, tuple[Value, frozenset[int]]] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)
    used: int = 0

    # -- events
    def _add(self, kind: str, loc: str | None, value: Value | None, tags: frozenset[str], span: Span,
             addr: frozenset[int] = frozenset(), data: frozenset[int] = frozenset()) -> int:
        i = len(self.events)
        self.events.append(Event(kind, loc, value, tags, span))
        self.addr.update((a, i) for a in addr)
        self.data.update((d, i) for d in data)
        self.ctrl.update((c, i) for c in self.ctrl_from)
        return i

    def read(self, loc: str, tags: frozenset[str], span: Span, addr: frozenset[int]) -> tuple[Value, int]:
        if self.used >= len(self.reads):
            raise _NeedValue(loc)
        value = self.reads[self.used]
        self.used += 1
        return value, self._add("R", loc, value, tags, span, addr)

    def write(self, loc: str, value: Value, tags: frozenset[str], span: Span, addr: frozenset[int],
              data: frozenset[int]) -> int:
        return self._add("W", loc, value, tags, span, addr, data)

    def fence(self, tag: str, span: Span) -> None:
        self._add("F", None, None, frozenset({tag}), span)

    # -- statements
    def run(self) -> None:
        for p in self.thread.params:
            self.regs[p.name] = (p.name, frozenset())   # a parameter `int *x` holds &x
        for item in self.test.init:
            if isinstance(item, ls.InitRegister) and item.thread == self.thread.index:
                self.regs[item.register] = (_init_value(item.value), frozenset())
        self.stmt(self.thread.body)

    def stmt(self, st: object) -> None:
        if isinstance(st, s.Block):
            for x in st.body:
                self.stmt(x)
        elif isinstance(st, ls.Decl):
            for d in st.declarators:
                self.declared.add(d.name)
                if d.init is not None:
                    self.regs[d.name] = self.expr(d.init)
                else:
                    self.regs.setdefault(d.name, (0, frozenset()))
        elif isinstance(st, s.Assign):
            value, deps = self.expr(st.value)
            if isinstance(st.target, s.Name):
                self.regs[st.target.ident] = (value, deps)
            else:
                assert isinstance(st.target, s.Deref)
                loc, adeps = self.location(st.target.operand)
                self.write(loc, value, frozenset(), st.span, adeps, deps)   # a plain store
        elif isinstance(st, s.ExprStmt):
            self.expr(st.expr)
        elif isinstance(st, s.If):
            value, deps = self.expr(st.cond)
            self.ctrl_from |= deps   # herd7: every event after the branch depends on its reads
            if _truth(value):
                self.stmt(st.then)
            elif st.other is not None:
                self.stmt(st.other)
        else:
            assert isinstance(st, s.Empty), st

    # -- expressions: (value, the reads it depends on)
    def location(self, pointer: s.Expr) -> tuple[str, frozenset[int]]:
        value, deps = self.expr(pointer)
        if not isinstance(value, str):
            raise error(pointer.span, f"this pointer holds {value}, not the address of a shared variable")
        return value, deps

    def expr(self, e: s.Expr) -> tuple[Value, frozenset[int]]:
        if isinstance(e, s.Num):
            return e.value, frozenset()
        if isinstance(e, s.Name):
            if e.ident in self.regs:
                return self.regs[e.ident]
            if any(isinstance(i, ls.InitShared) and i.name == e.ident for i in self.test.init):
                return e.ident, frozenset()   # a shared variable's name stands for its address, as in herd7
            raise error(e.span, f"unknown name '{printable(e.ident)}': expected a register, a parameter or a shared variable")
        if isinstance(e, s.Deref):
            loc, adeps = self.location(e.operand)
            value, i = self.read(loc, frozenset(), e.span, adeps)   # a plain load
            return value, frozenset({i})
        if isinstance(e, s.AddressOf):
            if isinstance(e.operand, s.Name):
                return e.operand.ident, frozenset()
            if isinstance(e.operand, s.Deref):
                return self.expr(e.operand.operand)
            raise error(e.span, "'&' takes a shared variable here: expected &x")
        if isinstance(e, s.Unary):
            value, deps = self.expr(e.operand)
            return _unary(e.op, value, e.span), deps
        if isinstance(e, s.Binary):
            left, ldeps = self.expr(e.left)
            if e.op in ("&&", "||") and _truth(left) == (e.op == "||"):
                return int(e.op == "||"), ldeps
            right, rdeps = self.expr(e.right)
            return _binary(e.op, left, right, e.span), ldeps | rdeps
        if isinstance(e, s.Call):
            return self.call(e)
        raise error(e.span, "this expression is not supported in a litmus test")

    def call(self, c: s.Call) -> tuple[Value, frozenset[int]]:
        name, args = c.func, c.args
        if name in _FENCES:
            self._arity(c, 0)
            self.fence(_FENCES[name], c.span)
            return 0, frozenset()
        if name in _LOADS:   # (pointer-taking, tag)
            self._arity(c, 1)
            by_pointer, tag = _LOADS[name]
            loc, adeps = self._target(args[0], by_pointer)
            value, i = self.read(loc, frozenset({tag}), c.span, adeps)
            return value, frozenset({i})
        if name in _STORES:
            self._arity(c, 2)
            by_pointer, tag = _STORES[name]
            loc, adeps = self._target(args[0], by_pointer)
            value, deps = self.expr(args[1])
            self.write(loc, value, frozenset({tag}), c.span, adeps, deps)
            if name == "smp_store_mb":
                self.fence("mb", c.span)
            return 0, frozenset()
        if name in _LOCKS:
            return self.lock(c)
        if name in _UNSUPPORTED:
            raise error(c.span, f"'{name}' is not supported by the litmus checker yet: {_UNSUPPORTED[name]} "
                                "(docs/lkmm.md)")
        rmw = _rmw_shape(name)
        if rmw is not None:
            return self.atomic(c, *rmw)
        raise error(c.span, f"unknown primitive '{printable(name)}': expected READ_ONCE, WRITE_ONCE, smp_load_acquire, "
                            "smp_store_release, a fence, xchg/cmpxchg or an atomic_* operation")

    def _arity(self, c: s.Call, n: int) -> None:
        if len(c.args) != n:
            raise error(c.span, f"'{c.func}' takes {n} argument{'s' if n != 1 else ''}, not {len(c.args)}")

    def _target(self, arg: s.Expr, by_pointer: bool) -> tuple[str, frozenset[int]]:
        """The location a primitive accesses: `*p` for READ_ONCE-like ones, `p` for the others."""
        if by_pointer:
            return self.location(arg)
        if not isinstance(arg, s.Deref):
            raise error(arg.span, "expected '*p' here (READ_ONCE, WRITE_ONCE, rcu_dereference and rcu_assign_pointer take the location)")
        return self.location(arg.operand)

    def lock(self, c: s.Call) -> tuple[Value, frozenset[int]]:
        """A spinlock primitive on the lock word (0 free, 1 held), as lock.cat sees it:
        spin_lock() a read of the free lock (LKR, an acquire) and the write that takes it (LKW),
        an RMW pair; spin_unlock() the write that frees it (UL, a release); spin_is_locked() a
        read of a held lock (LF) or of a free one (RU); spin_trylock() a spin_lock() when it
        reads the lock free, an LF when not."""
        self._arity(c, 1)
        loc, adeps = self.location(c.args[0])
        if c.func == "spin_unlock":
            self.write(loc, 0, frozenset({"ul", "release"}), c.span, adeps, frozenset())
            return 0, frozenset()
        if self.used >= len(self.reads):
            raise _NeedValue(loc)
        free = self.reads[self.used] == 0
        if c.func == "spin_lock" and not free:
            raise _Infeasible()
        if c.func == "spin_is_locked":
            _, r = self.read(loc, frozenset({"ru" if free else "lf"}), c.span, adeps)
            return int(not free), frozenset({r})
        if not free:   # a failed spin_trylock
            _, r = self.read(loc, frozenset({"lf"}), c.span, adeps)
            return 0, frozenset({r})
        _, r = self.read(loc, frozenset({"lkr", "acquire"}), c.span, adeps)
        w = self.write(loc, 1, frozenset({"lkw"}), c.span, adeps, frozenset())
        self.rmw.add((r, w))
        return 1, frozenset({r})

    def atomic(self, c: s.Call, kind: str, order: str, pointer_at: int, n_args: int) -> tuple[Value, frozenset[int]]:
        """A read-modify-write (docs/lkmm.md, section 2): `kind` says what it writes and
        returns; `order` mb (an mb fence before and after, when it writes), once, acquire or
        release; a non-value-returning one (`op:...`) reads as noreturn. One that does not write
        (a failed cmpxchg) is its read alone, ordering nothing."""
        self._arity(c, n_args)
        loc, adeps = self.location(c.args[pointer_at])
        operands = [self.expr(a) for i, a in enumerate(c.args) if i != pointer_at]
        odeps: frozenset[int] = frozenset().union(*(d for _, d in operands))
        if self.used >= len(self.reads):
            raise _NeedValue(loc)
        new, returned, writes = _rmw_result(kind, self.reads[self.used], [v for v, _ in operands], c.span)
        rtag = "noreturn" if kind.startswith("op:") else ("acquire" if order == "acquire" else "once")
        fenced = order == "mb" and writes
        if fenced:
            self.fence("mb", c.span)
        _, r = self.read(loc, frozenset({rtag, "rmw"}), c.span, adeps)
        if writes:
            w = self.write(loc, new, frozenset({"release" if order == "release" else "once", "rmw"}), c.span, adeps,
                           odeps | frozenset({r}) if kind != "xchg" and kind != "cmpxchg" else odeps)
            self.rmw.add((r, w))
        if fenced:
            self.fence("mb", c.span)
        return returned, frozenset({r})


def _init_value(value: ls.InitValue | None) -> Value:
    if value is None:
        return 0
    return value.name if isinstance(value, ls.InitAddress) else value.value


def initial_values(test: ls.LitmusTest) -> dict[str, Value]:
    """Every shared variable's initial value: the initial state's, 0 otherwise (a variable a
    thread names as a parameter exists even when the initial state does not declare it)."""
    values: dict[str, Value] = {}
    for th in test.threads:
        for p in th.params:
            values.setdefault(p.name, 0)
    for item in test.init:
        if isinstance(item, ls.InitShared):
            values[item.name] = _init_value(item.value)
    return values


def _truth(v: Value) -> bool:
    return v != 0   # an address is never NULL


def _unary(op: str, v: Value, span: Span) -> Value:
    if op == "!":
        return int(not _truth(v))
    if isinstance(v, str):
        raise error(span, f"'{op}' on an address is not supported")
    return {"~": ~v, "-": -v, "+": v}[op]


def _binary(op: str, a: Value, b: Value, span: Span) -> Value:
    if op in ("==", "!="):
        return int((a == b) == (op == "=="))
    if op in ("&&", "||"):
        return int(_truth(a) and _truth(b)) if op == "&&" else int(_truth(a) or _truth(b))
    if isinstance(a, str) or isinstance(b, str):
        raise error(span, f"'{op}' on an address is not supported")
    if op in ("/", "%") and b == 0:
        raise error(span, "division by zero")
    return {"+": lambda: a + b, "-": lambda: a - b, "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
            "<<": lambda: a << b, ">>": lambda: a >> b, "/": lambda: _c_div(a, b), "%": lambda: a - b * _c_div(a, b),
            "<": lambda: int(a < b), ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b)}[op]()


def _c_div(a: int, b: int) -> int:
    """C's integer division: rounds toward zero."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


_FENCES = {"smp_mb": "mb", "smp_rmb": "rmb", "smp_wmb": "wmb", "barrier": "barrier",
           "smp_mb__before_atomic": "before-atomic", "smp_mb__after_atomic": "after-atomic",
           "smp_mb__after_spinlock": "after-spinlock", "smp_mb__after_unlock_lock": "after-unlock-lock",
           "rcu_read_lock": "rcu-lock", "rcu_read_unlock": "rcu-unlock", "synchronize_rcu": "sync-rcu",
           "synchronize_rcu_expedited": "sync-rcu"}
_LOADS = {"READ_ONCE": (False, "once"), "rcu_dereference": (False, "once"), "smp_load_acquire": (True, "acquire"),
          "atomic_read": (True, "once"), "atomic_read_acquire": (True, "acquire")}
_STORES = {"WRITE_ONCE": (False, "once"), "rcu_assign_pointer": (False, "release"), "smp_store_release": (True, "release"),
           "smp_store_mb": (False, "once"), "atomic_set": (True, "once"), "atomic_set_release": (True, "release")}
_LOCKS = ("spin_lock", "spin_unlock", "spin_trylock", "spin_is_locked")
_UNSUPPORTED = {n: "SRCU comes with its own axioms" for n in ("srcu_read_lock", "srcu_read_unlock", "synchronize_srcu",
                                                                     "synchronize_srcu_expedited",
                                                                     "smp_mb__after_srcu_read_unlock")}


def _rmw_shape(name: str) -> tuple[str, str, int, int] | None:
    """(kind, order, index of the pointer argument, number of arguments) of an RMW primitive."""
    base, order = name, "mb"
    for suffix in ("_relaxed", "_acquire", "_release"):
        if name.endswith(suffix):
            base, order = name[: -len(suffix)], {"_relaxed": "once", "_acquire": "acquire", "_release": "release"}[suffix]
    shapes = {
        "xchg": ("xchg", 0, 2), "atomic_xchg": ("xchg", 0, 2), "cmpxchg": ("cmpxchg", 0, 3), "atomic_cmpxchg": ("cmpxchg", 0, 3),
        "atomic_add_return": ("add_return", 1, 2), "atomic_sub_return": ("sub_return", 1, 2),
        "atomic_inc_return": ("inc_return", 0, 1), "atomic_dec_return": ("dec_return", 0, 1),
        "atomic_fetch_add": ("fetch_add", 1, 2), "atomic_fetch_sub": ("fetch_sub", 1, 2),
        "atomic_fetch_inc": ("fetch_inc", 0, 1), "atomic_fetch_dec": ("fetch_dec", 0, 1),
    }
    if base in shapes:
        kind, pointer, n = shapes[base]
        return kind, order, pointer, n
    if name != base:
        return None
    plain_ops = {"atomic_add": ("add", 1, 2), "atomic_sub": ("sub", 1, 2), "atomic_inc": ("inc", 0, 1), "atomic_dec": ("dec", 0, 1)}
    if name in plain_ops:
        kind, pointer, n = plain_ops[name]
        return "op:" + kind, "noreturn", pointer, n
    tests = {"atomic_sub_and_test": ("sub_and_test", 1, 2), "atomic_dec_and_test": ("dec_and_test", 0, 1),
             "atomic_inc_and_test": ("inc_and_test", 0, 1), "atomic_add_negative": ("add_negative", 1, 2),
             "atomic_add_unless": ("add_unless", 0, 3)}
    if name in tests:
        kind, pointer, n = tests[name]
        return kind, "mb", pointer, n
    return None


def _rmw_result(kind: str, old: Value, operands: list[Value], span: Span) -> tuple[Value, Value, bool]:
    """(the value written, the value returned, whether it writes) of an RMW that read `old`."""
    if kind == "xchg":
        return operands[0], old, True
    if kind == "cmpxchg":
        expected, new = operands
        return new, old, old == expected
    if kind == "add_unless":
        amount, unless = operands
        if old == unless:
            return old, 0, False
        return _binary("+", old, amount, span), 1, True
    op = kind.removeprefix("op:")
    amount = operands[0] if operands else 1
    sign = "-" if op.startswith(("sub", "dec", "fetch_sub", "fetch_dec")) else "+"
    new = _binary(sign, old, amount, span)
    if kind.startswith("op:"):
        return new, 0, True
    if op.startswith("fetch_"):
        return new, old, True
    if op.endswith("_and_test"):
        return new, int(new == 0), True
    if op == "add_negative":
        return new, int(isinstance(new, int) and new < 0), True
    return new, new, True   # *_return


def thread_paths(test: ls.LitmusTest, values: dict[str, set[Value]]) -> Iterator[ThreadPath]:
    """Every path of every thread, its reads of x returning only `values[x]`."""
    for th in test.threads:
        yield from _paths(test, th, values)


def _paths(test: ls.LitmusTest, th: ls.Thread, values: dict[str, set[Value]]) -> Iterator[ThreadPath]:
    todo: list[tuple[Value, ...]] = [()]
    while todo:
        reads = todo.pop()
        run = _Run(test, th, reads)
        try:
            run.run()
        except _NeedValue as need:
            todo.extend(reads + (v,) for v in sorted(values.get(need.loc, {0}), key=repr, reverse=True))
            continue
        except _Infeasible:
            continue
        params = {p.name for p in th.params} - run.declared
        registers = tuple(sorted((r, v) for r, (v, _) in run.regs.items() if r not in params))
        yield ThreadPath(th.index, tuple(run.events), frozenset(run.rmw), frozenset(run.addr), frozenset(run.data),
                         frozenset(run.ctrl), registers)


def possible_writes(test: ls.LitmusTest) -> dict[str, set[Value]]:
    """For each location, every value the initial state or some path of some thread can write
    there: reads are tried with these values only. Grown round by round from the initial values:
    a value written under one read value may make another read value possible. An execution
    makes at most `write_sites(test)` writes (the code has no loops), each taking its value from
    at most one earlier round, so that many rounds find every value an execution can hold, given
    the seed (NOTE(self-justifying)); a value found that no execution writes only adds paths that
    no write can match."""
    values: dict[str, set[Value]] = {x: {v} for x, v in initial_values(test).items()}
    # NOTE(self-justifying): a write may exist only on a path that a read value enables, and that
    # value may come only from such a write (LB with control dependencies whose stores are plain:
    # hb does not forbid the cycle, so the model allows it). Growing from the initial values alone
    # never reaches such a cycle; every number the code names is tried as well, as herd7, which
    # evaluates each path with symbolic values, would find them.
    literals = _literals(test)
    pointers = _pointer_locations(test)   # they hold addresses: a number there is never dereferenced
    for x, vs in values.items():
        if x not in pointers:
            vs.update(literals)
    for _ in range(write_sites(test)):
        grown = {x: set(vs) for x, vs in values.items()}
        for path in thread_paths(test, values):
            for ev in path.events:
                if ev.kind == "W":
                    assert ev.loc is not None and ev.value is not None
                    grown.setdefault(ev.loc, set()).add(ev.value)
        if grown == values:
            break
        if any(len(vs) > MAX_VALUES for vs in grown.values()):
            raise error(test.span, f"a location of this test can hold more than {MAX_VALUES} values: not supported")
        values = grown
    return values


def _pointer_locations(test: ls.LitmusTest) -> set[str]:
    """The shared variables declared as pointers, initialised to an address, or passed as `int **`."""
    out = {p.name for th in test.threads for p in th.params if p.type.pointers >= 2}
    for item in test.init:
        if isinstance(item, ls.InitShared) and ((item.type is not None and item.type.pointers)
                                               or isinstance(item.value, ls.InitAddress)):
            out.add(item.name)
    return out


def _literals(test: ls.LitmusTest) -> set[Value]:
    """Every number the threads' code names."""
    found: set[Value] = set()
    todo: list[object] = [th.body for th in test.threads]
    while todo:
        node = todo.pop()
        if isinstance(node, s.Num):
            found.add(node.value)
        if isinstance(node, tuple):
            todo.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            todo.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
    return found


def write_sites(test: ls.LitmusTest) -> int:
    """How many statements and calls of the test's code can write (each at most once per
    execution: the code has no loops)."""
    count = 0
    todo: list[object] = [th.body for th in test.threads]
    while todo:
        node = todo.pop()
        if isinstance(node, s.Call) and (node.func in _STORES or _rmw_shape(node.func) is not None):
            count += 1
        if isinstance(node, s.Assign) and isinstance(node.target, s.Deref):
            count += 1
        if isinstance(node, tuple):
            todo.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            todo.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
    return count
