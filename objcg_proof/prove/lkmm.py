"""The memory model: the Linux-kernel memory model (docs/lkmm.md), a sibling of sc.py behind
the same interface (NOTE(memory-model) in sc.py).

The events of the unrolled program become LKMM events (docs/lkmm.md, section 2): a read or a
write is one event tagged by its mode (plain, once, acquire, release); an RMW is a read and a
write linked by `rmw` (its write only when `Event.succeeds`), a fully ordered one between two
`mb` fences, a non-value-returning one with its read tagged `noreturn`; `spin_lock` is LKR and
LKW, `spin_unlock` UL; a fence event is a fence of its tag. Every location the program touches
has an initial write (IW), first in coherence order. An execution is then which events happen
(the encoder's control flow), `rf` (a Boolean per read and candidate write) and `co` (a clock
per write, per location); each relation of linux-kernel.cat is a Boolean per pair of events
that can be in it (relations are dicts from pairs to z3 formulas: a pair absent is a pair that
is never in it), built one line per line of the .cat (`_Cat`), and the axioms are stated on
them: acyclicity with a clock per event and axiom, irreflexivity and emptiness per pair.

NOTE(exact-closures): `r+` is computed by squaring (`r ∪ r;r`, with a fresh Boolean defined
equal to each pair's formula) until paths of every length are covered, and the recursive
`rcu-order` by as many unfoldings as there are grace periods and read-side sections, plus
one; so every relation is exactly what the .cat defines for the execution the solver chose, and
the flags (which use relations under a difference) are exact too. The cost is cubic in the
events that can be related; that is what the pruning to candidate pairs is for.

NOTE(bounded-closures): with `closure_rounds=k` (prove/verify.py asks the designs so first,
NOTE(closure-levels) there), `r+` is instead `r` squared k times: the paths of at most 2^k
edges, a subset of `r+`. Every axiom is monotone in every closure (each closure occurs in them
only positively: under `;`, `|`, `&` with a relation of the execution, `^-1`, less the
identity; never on the right of a difference), so a smaller closure forbids fewer executions
(NOTE(pb-union) holds of the smaller relations too): every execution the
LKMM allows satisfies the bounded encoding, and "no violation" there is "no violation" under
the LKMM. A violation found there may not be an LKMM execution; the caller checks it on the
independent evaluator and asks again with more rounds if it is not. The flags use relations
under a difference, so they are not computed at a bounded level (prove/litmus.py, the only
reader of flags, always asks the exact encoding).

NOTE(fr-clock): `fr = rf^-1 ; co` is not built by composition, which would give each pair a
disjunction over every write the read may see (cubic in the accesses of a location). A read's
`seen` clock is the coherence clock of the write it took its value from (one equality per `rf`
Boolean), and `fr(r, w)` is "both happen, at one location, and seen(r) < clock(w)": the same
relation, since exactly one `rf` edge enters a read that happens and `co` is the order of the
clocks. One comparison per pair.

NOTE(sequential-level): with `axioms=SEQUENTIAL` (prove/verify.py asks a design so before its
closure levels, NOTE(closure-levels) there) the encoding keeps the LKMM's events, `rf` and `co`,
and instead of the .cat's axioms says that the execution is sequentially consistent with atomic
steps, as the DSL's own semantics has it: every `rf`, `co` and `fr` edge between events of two
steps orders the steps' clocks (program order already does, along a thread), so the steps run
in one total order and each read sees the last write before it; coherence and RMW atomicity
follow (an RMW is one step). That is a stronger
model than the LKMM: no closure is built, and what it finds violated is a sequentially consistent
execution, which the LKMM allows (the independent evaluator checks that it does, as for every
level; `tests/oracles/test_lkmm_sc.py` holds the evaluator to it); what it finds not violated
says nothing about the LKMM. Decoded, the trace's steps are in that one order, as under SC.

NOTE(per-location-level): with `axioms=PER_LOCATION` (prove/verify.py asks a design so after
its sequential level, before its closure levels) the encoding states only the LKMM's two axioms
about one location at a time: `coherence` (acyclic po-loc | com) and `atomic` (empty rmw &
(fre ; coe)). They are two of the .cat's six conjuncts, so every execution the LKMM allows
satisfies them: "no violation" there is "no violation" under the LKMM, as at a bounded closure
level, and a violation found there is checked on the independent evaluator. Neither needs a
closure or a composition over the events of several locations (atomicity is stated at the rmw
pairs alone), so the encoding is quadratic in the accesses of a location where level 0 is cubic
in the events: what a reference count's atomicity or one word's coherence proves (objcg_v4's
`uaf` and `deadlock` on the smallest setting, docs/lkmm.md, section 6) needs none of the
ordering across locations.

NOTE(pb-union): `acyclic pb` with `pb = prop ; strong-fence ; hb* ; [Marked]` is stated as
`acyclic (hb | prop ; strong-fence ; [Marked])` on one clock per event, beside `acyclic hb`.
The two say the same of every execution: a cycle of the union either has no edge of the second
kind (an hb cycle) or, started at one, is a sequence of `prop ; strong-fence ; [Marked]` edges
each followed by hb edges between Marked events, that is a pb cycle; and a pb cycle or an hb
cycle is a cycle of the union. It spares `hb*`, whose exact closure is cubic.

NOTE(lazy-relations): what only some axioms use is built only when they apply, each exactly as
the .cat defines it: `hb*`, `pb`, `pb*` and `xbstar` for RCU only (without a grace period the
plain-access relations are built at the pairs they are read at, NOTE(visibility-at)); the RCU relations
when there is a grace period (without one rcu-order, rcu-fence and rb are empty); `barrier`
and the mixed-accesses flag when there is a plain write; the plain-coherence axiom and the
data-race flag when some plain access can meet an access of another thread at one location in
a pair that co, fr or co? ; rf can hold (without such a pair both are empty).

What is not encoded yet, and refused with a located error rather than ignored: SRCU (the DSL
has none), an RCU read-side section whose lock or unlock runs only on some paths, and
`lock.cat`'s treatment of locks beyond their lock word: a lock is its word, LKR must read it
free (0), LKW writes 1 and UL writes 0, as the independent checker (oracles/lkmm.py) has it.

A FINAL event (the memory at the end) reads the coherence-last write of its location. The step
clocks decode orders a trace by are free, except for program order: an LKMM execution has no
one order of its steps (weak-memory traces are still to come, docs/lkmm.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import z3

from ..lang.diagnostics import Span, error
from .events import FINAL, READ, RMW, WRITE, Event, EventProgram
from .held import Held
from .lkmm_clocks import MarkedAxioms
from .sc import MemoryModelResult
from .terms import TRUE, Term, symbols

Pair = tuple[int, int]
Rel = dict[Pair, z3.BoolRef]

# the axioms an LKMM encoding states: linux-kernel.cat's; sequential consistency with atomic steps
# (NOTE(sequential-level)); the .cat's axioms of one location, coherence and atomicity
# (NOTE(per-location-level)); those and happens-before and propagation, stated with clocks
# (NOTE(marked-level) in prove/lkmm_clocks.py)
CAT, SEQUENTIAL, PER_LOCATION, MARKED = "cat", "sequential", "per-location", "marked"
AXIOM_SETS = (CAT, SEQUENTIAL, PER_LOCATION, MARKED)

# the RMWs that write a value not computed from the one they read (no data dependency inside)
_NO_INNER_DATA = ("xchg", "cmpxchg", "try_cmpxchg", "atomic_xchg", "atomic_cmpxchg", "atomic_try_cmpxchg",
                  "spin_lock")
# refcount builtins (docs/lkmm.md, section 2): get is atomic_long_inc, the others are fully ordered
_REF_ORDER = {"get": "relaxed", "put": "mb", "kill": "mb", "tryget": "mb", "tryget_live": "mb"}


@dataclass
class Node:
    """One LKMM event: a read, a write or a fence (kind R, W or F), or a location's initial write."""

    id: int
    kind: str
    thread: int                   # -1 for an initial write
    order: tuple[int, int, int, int]   # program order in the thread: (step position, event, part, fence id)
    tags: frozenset[str]
    ev: Event | None
    cands: tuple[int, ...]
    loc: z3.BitVecRef
    executed: z3.BoolRef
    value: z3.BitVecRef | None = None
    syms: frozenset[int] = frozenset()      # ids of the read symbols its location term mentions
    data_syms: frozenset[int] = frozenset()   # ... its written term mentions


class LinuxKernelMemoryModel:
    """linux-kernel.cat over the events of the unrolled program (docs/lkmm.md, section 3)."""

    name = "lkmm"

    def __init__(self, program: EventProgram, executed: Mapping[int, z3.BoolRef],
                 term: Callable[[Term], z3.ExprRef], memo: dict, finished: Mapping[int, z3.BoolRef],
                 closure_rounds: int | None = None, axioms: str = CAT) -> None:
        self.program = program
        self.closure_rounds = closure_rounds   # NOTE(bounded-closures); None: exact
        assert axioms in AXIOM_SETS, axioms
        self.axioms = axioms                   # NOTE(sequential-level), NOTE(per-location-level), NOTE(marked-level)
        self.executed = executed
        self.finished = finished
        self.term = term
        self.constraints: list[z3.BoolRef] = []
        self.held_back: list[Held] = []   # NOTE(held-groups) in prove/held.py: the marked level's plain-coherence families
        self.step_clock: dict[int, z3.BitVecRef] = {}
        self.event_executed: dict[int, z3.BoolRef] = {}
        self.nodes: list[Node] = []
        self.flags: dict[str, z3.BoolRef] = {}
        self.reads_from: dict[tuple[int, int], z3.BoolRef] = {}
        self.coherence: dict[int, z3.BitVecRef] = {}
        self._fresh = 0

    # ---- events -------------------------------------------------------------------------
    def encode(self) -> MemoryModelResult:
        prog = self.program
        w = prog.width
        for ev in prog.events:
            if ev.kind == FINAL:
                self.event_executed[ev.id] = z3.BoolVal(True)
            else:
                self.event_executed[ev.id] = _and(self.executed[ev.step], self.term(ev.guard))
        locs = sorted({c for ev in prog.events for c in ev.cands})
        for c in locs:
            init = prog.layout.locations[c].init
            self._node("W", -1, (0, 0, 0, 0), frozenset({"IW"}), None, (c,), z3.BitVecVal(c, w), z3.BoolVal(True),
                       z3.BitVecVal(init, w))
        self.rmw_pairs: list[tuple[int, int]] = []
        self.ghost_rmw = _ghost_rmws(prog)
        self._ghost_read_node: dict[int, int] = {}
        for ev in prog.events:
            if ev.kind != FINAL:
                self._events_of(ev)
        for f in prog.fences:
            self._fence(f)
        self._clocks()
        cat = _Cat(self)
        cat.axioms()
        self._finals(cat)
        return MemoryModelResult(self.constraints, self.step_clock, self.event_executed, self.flags,
                                 self.reads_from, self.coherence, tuple(self.held_back))

    def _fence(self, f: Event) -> None:
        """A fence event (NOTE(fence-events) in events.py): before the event `sub` of its step,
        after the step's earlier events; one of no step comes after them all."""
        prog = self.program
        if f.step < 0:
            pos, executed = prog.threads[f.thread].positions, _and(self.finished[f.thread], self.term(f.guard))
        else:
            pos, executed = prog.steps[f.step].pos, _and(self.executed[f.step], self.term(f.guard))
        self._node("F", f.thread, (pos, f.sub, -1, f.id), frozenset({f.mode}), f, (), z3.BitVecVal(0, prog.width),
                   executed)

    def _node(self, kind: str, thread: int, order: tuple[int, int, int, int], tags: frozenset[str], ev: Event | None,
              cands: tuple[int, ...], loc: z3.BitVecRef, executed: z3.BoolRef,
              value: z3.BitVecRef | None = None) -> Node:
        n = Node(len(self.nodes), kind, thread, order, tags, ev, cands, loc, _norm(executed), value)
        self.nodes.append(n)
        return n

    def _events_of(self, ev: Event) -> None:
        prog = self.program
        pos = prog.steps[ev.step].pos
        ex = self.event_executed[ev.id]
        loc = self.term(ev.loc)
        t = ev.thread

        def at(part: int) -> tuple[int, int, int, int]:
            return (pos, ev.sub, part, 0)

        read = self.term(ev.read) if ev.read is not None else None
        loc_syms = frozenset(id(x) for x in symbols(ev.loc))
        if ev.kind in (READ, WRITE) and _is_ghost(prog, ev):
            self._ghost_event(ev, at(1), loc, ex, read, loc_syms)
            return
        if ev.kind == READ:
            tag = {"plain": "plain", "once": "once", "acquire": "acquire"}.get(ev.mode, "once")
            n = self._node("R", t, at(1), frozenset({tag}), ev, ev.cands, loc, ex, read)
            n.syms = loc_syms
            return
        written = self.term(ev.write)
        if ev.kind == WRITE:
            tags = {"plain": frozenset({"plain"}), "once": frozenset({"once"}),
                    "release": frozenset({"release"})}.get(ev.mode, frozenset({"once"}))
            if ev.what == "spin_unlock":
                tags = frozenset({"UL", "release"})
            n = self._node("W", t, at(1), tags, ev, ev.cands, loc, ex, written)
            n.syms, n.data_syms = loc_syms, frozenset(id(x) for x in symbols(ev.write))
            return
        assert ev.kind == RMW
        order = _REF_ORDER.get(ev.what, "relaxed") if ev.mode == "ref" else ev.mode
        wrote = _and(ex, self.term(ev.succeeds)) if ev.succeeds is not TRUE else ex
        if ev.what == "spin_lock":
            rtags, wtags = frozenset({"LKR", "acquire"}), frozenset({"LKW"})
        else:
            rtags = frozenset({"noreturn" if order == "relaxed" else ("acquire" if order == "acquire" else "once"),
                               "rmw"})
            wtags = frozenset({"release" if order == "release" else "once", "rmw"})
        if order == "mb":
            self._node("F", t, at(0), frozenset({"mb"}), ev, (), loc, wrote)
        r = self._node("R", t, at(1), rtags, ev, ev.cands, loc, ex, read)
        r.syms = loc_syms
        wn = self._node("W", t, at(2), wtags, ev, ev.cands, loc, wrote, written)
        wn.syms = loc_syms
        if ev.what not in _NO_INNER_DATA:
            wn.data_syms = frozenset(id(x) for x in symbols(ev.write))
        else:
            wn.data_syms = frozenset(id(x) for x in symbols(ev.write) if x is not ev.read)
        self.rmw_pairs.append((r.id, wn.id))
        if order == "mb":
            self._node("F", t, at(3), frozenset({"mb"}), ev, (), loc, wrote)

    def _ghost_event(self, ev: Event, order: tuple[int, int, int, int], loc: z3.BitVecRef, ex: z3.BoolRef,
                     read: z3.BitVecRef | None, loc_syms: frozenset[int]) -> None:
        """NOTE(ghost-lkmm): a ghost read is an acquire, a ghost write a release; a ghost read
        and write of one location in one step (`n++`, an atomic block) are one atomic RMW."""
        paired = ev.id in self.ghost_rmw or ev.id in self.ghost_rmw.values()
        tags = frozenset({"acquire" if ev.kind == READ else "release"} | ({"rmw"} if paired else set()))
        if ev.kind == READ:
            n = self._node("R", ev.thread, order, tags, ev, ev.cands, loc, ex, read)
            n.syms = loc_syms
            self._ghost_read_node[ev.id] = n.id
            return
        n = self._node("W", ev.thread, order, tags, ev, ev.cands, loc, ex, self.term(ev.write))
        n.syms, n.data_syms = loc_syms, frozenset(id(x) for x in symbols(ev.write))
        for r, w in self.ghost_rmw.items():
            if w == ev.id:
                self.rmw_pairs.append((self._ghost_read_node[r], n.id))

    def _clocks(self) -> None:
        """Step clocks for decode: free, increasing along each thread (docs: no total order)."""
        prog = self.program
        real = [st for st in prog.steps if not st.is_cut]
        tbits = max(1, (len(prog.threads) - 1).bit_length())
        hbits = max(1, len(real).bit_length())
        for th in prog.threads:
            prev = None
            for sid in th.steps:
                st = prog.steps[sid]
                if st.is_cut:
                    continue
                high = z3.BitVec(f"lkmm-clock@{th.name}#{st.pos}", hbits)
                self.step_clock[sid] = z3.Concat(high, z3.BitVecVal(st.thread, tbits))
                if prev is not None:
                    self.constraints.append(z3.ULT(prev, high))
                prev = high

    def _finals(self, cat: "_Cat") -> None:
        """A FINAL event reads the coherence-last write of its location."""
        prog = self.program
        co = cat.co
        for ev in prog.events:
            if ev.kind != FINAL:
                continue
            loc = self.term(ev.loc)
            val = self.term(ev.read)
            options = []
            for n in cat.writes:
                if not set(n.cands) & set(ev.cands):
                    continue
                later = [co[(n.id, m.id)] for m in cat.writes if (n.id, m.id) in co]
                last = _and(n.executed, n.loc == loc, *[z3.Not(x) for x in later])
                options.append(last)
                self.constraints.append(z3.Implies(last, val == n.value))
            self.constraints.append(z3.Or(options) if options else z3.BoolVal(False))

    def fresh(self, prefix: str) -> z3.BoolRef:
        self._fresh += 1
        return z3.Bool(f"lkmm@{prefix}#{self._fresh}")


_CTX = z3.main_ctx()
_T, _F = z3.BoolVal(True), z3.BoolVal(False)


def _norm(x: z3.BoolRef) -> z3.BoolRef:
    """The one true and the one false term, so `_and` and `_or` recognise them by identity."""
    return _T if z3.is_true(x) else _F if z3.is_false(x) else x


def _mk(fn: Callable, xs: list[z3.BoolRef]) -> z3.BoolRef:
    """And/Or through z3's C API: z3py's checks its arguments one by one (measured 5x slower here)."""
    arr = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
    return z3.BoolRef(fn(_CTX.ref(), len(xs), arr), _CTX)


def _and(*xs: z3.BoolRef) -> z3.BoolRef:
    ys = [x for x in xs if x is not _T]
    if any(y is _F for y in ys):
        return _F
    if not ys:
        return _T
    return ys[0] if len(ys) == 1 else _mk(z3.Z3_mk_and, ys)


def _or(xs: list[z3.BoolRef]) -> z3.BoolRef:
    if any(x is _T for x in xs):
        return _T
    ys = [x for x in xs if x is not _F]
    if not ys:
        return _F
    return ys[0] if len(ys) == 1 else _mk(z3.Z3_mk_or, ys)


def _not(x: z3.BoolRef) -> z3.BoolRef:
    return _F if x is _T else _T if x is _F else z3.BoolRef(z3.Z3_mk_not(_CTX.ref(), x.as_ast()), _CTX)


class _Cat:
    """linux-kernel.cat, one method line per line of the .cat, on relations as dicts."""

    def __init__(self, m: LinuxKernelMemoryModel) -> None:
        self.m = m
        self.n = m.nodes
        nodes = m.nodes
        self.writes = [x for x in nodes if x.kind == "W"]
        self.reads = [x for x in nodes if x.kind == "R"]
        S = self.S = {}
        M = {x.id for x in nodes if x.kind in ("R", "W")}
        S["M"], S["R"], S["W"], S["F"] = M, {x.id for x in self.reads}, {x.id for x in self.writes}, \
            {x.id for x in nodes if x.kind == "F"}
        for tag in ("IW", "once", "acquire", "release", "noreturn", "LKR", "LKW", "UL", "plain", "rmw",
                    "mb", "rmb", "wmb", "barrier", "before-atomic", "after-atomic", "after-spinlock",
                    "after-unlock-lock", "rcu-lock", "rcu-unlock", "sync-rcu"):
            S[tag] = {x.id for x in nodes if tag in x.tags}
        S["Acquire"] = S["acquire"] | S["LKR"]
        S["Release"] = S["release"] | S["UL"]
        S["Marked"] = ({x.id for x in nodes} - M) | S["IW"] | S["once"] | S["Release"] | S["Acquire"] | S["rmw"] \
            | S["LKR"] | S["LKW"] | S["UL"]
        S["Plain"] = M - S["Marked"]
        # [RMW]: the events of an RMW instruction, a failed cmpxchg's read included (herd7 tags it so:
        # cmpxchg-fail-ordered-2 is Never only with it)
        self.rmw_id = self.id_(S["rmw"] | S["LKR"] | S["LKW"])
        S["R4rmb"] = S["R"] - S["noreturn"]

    # ---- relation algebra ------------------------------------------------------------------
    def ex(self, a: int) -> z3.BoolRef:
        return self.n[a].executed

    def id_(self, s: Iterable[int]) -> Rel:
        return {(a, a): self.ex(a) for a in s}

    def seq(self, *rs: Rel) -> Rel:
        out = rs[0]
        for r in rs[1:]:
            by_first: dict[int, list[tuple[int, z3.BoolRef]]] = {}
            for (b, c), f in r.items():
                by_first.setdefault(b, []).append((c, f))
            acc: dict[Pair, list[z3.BoolRef]] = {}
            for (a, b), f in out.items():
                for c, g in by_first.get(b, ()):
                    acc.setdefault((a, c), []).append(_and(f, g))
            out = {p: _or(fs) for p, fs in acc.items()}
            out = {p: f for p, f in out.items() if f is not _F}
        return out

    def union(self, *rs: Rel) -> Rel:
        acc: dict[Pair, list[z3.BoolRef]] = {}
        for r in rs:
            for p, f in r.items():
                acc.setdefault(p, []).append(f)
        return {p: _or(fs) for p, fs in acc.items()}

    def inter(self, a: Rel, b: Rel) -> Rel:
        return {p: _and(f, b[p]) for p, f in a.items() if p in b}

    def diff(self, a: Rel, b: Rel) -> Rel:
        out = {}
        for p, f in a.items():
            g = b.get(p)
            if g is None:
                out[p] = f
            elif g is not _T:
                out[p] = _and(f, _not(g))
        return out

    def inv(self, r: Rel) -> Rel:
        return {(b, a): f for (a, b), f in r.items()}

    def opt(self, r: Rel) -> Rel:
        return self.union(r, self.id_(self.ends))

    def dom(self, s: set[int], r: Rel, t: set[int] | None = None) -> Rel:
        """[s] ; r ; [t]"""
        return {(a, b): f for (a, b), f in r.items() if a in s and (t is None or b in t)}

    def rng(self, r: Rel, t: set[int]) -> Rel:
        return {(a, b): f for (a, b), f in r.items() if b in t}

    def define(self, r: Rel, prefix: str) -> Rel:
        """Each pair's formula named by a fresh Boolean (keeps the terms of closures small)."""
        out = {}
        for p, f in r.items():
            if f is _T or f is _F or z3.is_const(f):
                out[p] = f
                continue
            v = self.m.fresh(prefix)
            self.m.constraints.append(v == f)
            out[p] = v
        return out

    def plus(self, r: Rel, prefix: str) -> Rel:
        """r+ (NOTE(exact-closures)): Warshall's algorithm on the pairs that can be in r, each
        round allowing one more node in the middle of a path; every pair named at the end. With
        the model's closure_rounds, the paths of at most 2^rounds edges (NOTE(bounded-closures))."""
        rounds = self.m.closure_rounds
        if rounds is not None:
            out = r
            for _ in range(rounds):
                out = self.define(self.union(out, self.seq(out, out)), prefix)
            return self.define(out, prefix)
        out = dict(r)
        succ: dict[int, set[int]] = {}
        pred: dict[int, set[int]] = {}
        for a, b in out:
            succ.setdefault(a, set()).add(b)
            pred.setdefault(b, set()).add(a)
        for k in sorted(set(succ) & set(pred)):
            updates = {}
            for i in pred[k]:
                for j in succ[k]:
                    f = _and(out[(i, k)], out[(k, j)])
                    old = out.get((i, j))
                    updates[(i, j)] = f if old is None else _or([old, f])
            for (i, j), f in updates.items():
                out[(i, j)] = f
                succ.setdefault(i, set()).add(j)
                pred.setdefault(j, set()).add(i)
        return self.define(out, prefix)
    def star(self, r: Rel, prefix: str) -> Rel:
        return self.opt(self.plus(r, prefix))

    def same_loc(self, r: Rel) -> Rel:
        out = {}
        for (a, b), f in r.items():
            x, y = self.n[a], self.n[b]
            if not set(x.cands) & set(y.cands):
                continue
            out[(a, b)] = f if x.loc.eq(y.loc) else _and(f, x.loc == y.loc)
        return out

    def internal(self, r: Rel) -> Rel:
        return {(a, b): f for (a, b), f in r.items() if self.n[a].thread == self.n[b].thread and self.n[a].thread >= 0}

    def external(self, r: Rel) -> Rel:
        return {(a, b): f for (a, b), f in r.items() if self.n[a].thread != self.n[b].thread}

    def fencerel(self, tags: set[int]) -> Rel:
        """po ; [tags] ; po, between the events that can be endpoints (NOTE(fence-ends)): a
        fence that cannot is still in the middle."""
        ends = self.ends
        into = {p: f for p, f in self.po_all.items() if p[1] in tags and p[0] in ends}
        out = {p: f for p, f in self.po_all.items() if p[0] in tags and p[1] in ends}
        return self.seq(into, self.id_(tags), out)

    def acyclic(self, r: Rel, name: str) -> None:
        nodes = sorted({a for p in r for a in p})
        if not nodes:
            return
        bits = max(1, len(nodes).bit_length())
        clock = {a: z3.BitVec(f"lkmm-{name}@{a}", bits) for a in nodes}
        for (a, b), f in r.items():
            self.m.constraints.append(_not(f) if a == b else z3.Implies(f, z3.ULT(clock[a], clock[b])))

    def empty(self, r: Rel) -> z3.BoolRef:
        return _not(_or(list(r.values())))

    def irreflexive(self, r: Rel) -> None:
        for (a, b), f in r.items():
            if a == b:
                self.m.constraints.append(_not(f))

    # ---- the execution: po, rf, co, dependencies --------------------------------------------
    def execution(self) -> None:
        """po, the pairs of events at one location, rf, co, fr and rmw."""
        m, nodes = self.m, self.n
        by_thread: dict[int, list[Node]] = {}
        for x in nodes:
            if x.thread >= 0:
                by_thread.setdefault(x.thread, []).append(x)
        self.ends = self._ends()
        po: Rel = {}
        po_all: Rel = {}   # also pairs with a fence that is never an endpoint: for fencerel only
        for xs in by_thread.values():
            xs.sort(key=lambda x: x.order)
            for i, a in enumerate(xs):
                for b in xs[i + 1:]:
                    if a.id in self.ends and b.id in self.ends:
                        po[(a.id, b.id)] = po_all[(a.id, b.id)] = _and(a.executed, b.executed)
                    elif a.id in self.ends or b.id in self.ends:
                        po_all[(a.id, b.id)] = _and(a.executed, b.executed)
        self.po, self.po_all = po, po_all
        self.loc_pairs = self.same_loc({(a.id, b.id): _and(a.executed, b.executed)
                                        for a in nodes for b in nodes if a.kind in "RW" and b.kind in "RW"})
        self.rf = self._reads_from()
        self.co = self._coherence()
        self.fr = self._from_reads()
        self.rmw: Rel = {(r, w): nodes[w].executed for r, w in m.rmw_pairs}
        self.po_loc = self.inter(po, self.loc_pairs)

    def per_location(self) -> None:
        """The .cat's axioms of one location (NOTE(per-location-level)): acyclic po-loc | com as
        coherence; empty rmw & (fre ; coe) as atomic, stated at the rmw pairs: for each, no write
        of another thread comes between the write its read saw and its own write in coherence order."""
        self.acyclic(self.union(self.po_loc, self.rf, self.co, self.fr), "coherence")
        co_into: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        for (a, b), f in self.external(self.co).items():
            co_into.setdefault(b, []).append((a, f))
        for (r, w), f in self.rmw.items():
            between = [_and(self.fr.get((r, x), _F), g) for x, g in co_into.get(w, ())
                       if self.n[x].thread != self.n[r].thread]
            self.m.constraints.append(_not(_and(f, _or(between))))

    def dependencies(self) -> None:
        """addr, data and ctrl from the terms, through carry-dep."""
        m, nodes = self.m, self.n
        # dependencies from the terms: a read's value in a later event's address, written value, guard
        reads_by_sym = {id(x.ev.read): x.id for x in self.reads if x.ev is not None and x.ev.read is not None}
        addr: Rel = {}
        data: Rel = {}
        ctrl: Rel = {}
        for b in nodes:
            if b.thread < 0 or b.id not in self.ends:
                continue
            ctrl_syms = {id(s) for s in b.ev.ctrl} if b.ev is not None else set()
            for sid, a in reads_by_sym.items():
                x = nodes[a]
                if x.thread != b.thread or x.order >= b.order:
                    continue
                both = _and(x.executed, b.executed)
                if sid in b.syms:
                    addr[(a, b.id)] = both
                if sid in b.data_syms:
                    data[(a, b.id)] = both
                if sid in ctrl_syms:
                    ctrl[(a, b.id)] = both
        rfi = self.internal(self.rf)
        carry = self.star(self.seq(data, rfi), "carry-dep")
        self.addr = self.seq(carry, addr)
        self.data = self.seq(carry, data)
        self.ctrl = self.seq(carry, ctrl)

    def dependency_orders(self) -> tuple[Rel, Rel]:
        """to-r = addr | (dep ; [Marked] ; rfi), and rwdep = (dep | ctrl) ; [W], with
        dep = addr | data: the parts of ppo that come from dependencies."""
        dep = self.union(self.addr, self.data)
        rwdep = self.rng(self.union(dep, self.ctrl), self.S["W"])
        to_r = self.union(self.addr, self.seq(self.rng(dep, self.S["Marked"]), self.internal(self.rf)))
        return to_r, rwdep

    def _reads_from(self) -> Rel:
        """rf: a Boolean per read and candidate write; exactly one when the read happens."""
        m, nodes = self.m, self.n
        rf: Rel = {}
        for r in self.reads:
            options = []
            for w in self.writes:
                if not set(w.cands) & set(r.cands) or (w.thread == r.thread and w.order > r.order):
                    continue
                if w.thread == r.thread and w.ev is r.ev:
                    continue   # an RMW does not read its own write
                v = z3.Bool(f"lkmm-rf@{w.id}>{r.id}")
                m.constraints.append(z3.Implies(v, _and(w.executed, r.executed, w.loc == r.loc, w.value == r.value)))
                rf[(w.id, r.id)] = v
                options.append(v)
            m.constraints.append(z3.Implies(r.executed, _exactly_one(options)))
            for v in options:
                m.constraints.append(z3.Implies(v, r.executed))
        for (w, r), v in rf.items():   # for traces: by the unrolled program's events
            writer = nodes[w].ev.id if nodes[w].ev is not None else -1 - nodes[w].cands[0]
            m.reads_from[(writer, nodes[r].ev.id)] = v   # type: ignore[union-attr]
        return rf

    def _coherence(self) -> Rel:
        """co: a clock per write, per location; the initial write first."""
        m = self.m
        bits = max(2, (len(self.writes) + 1).bit_length())
        clock = {w.id: (z3.BitVecVal(0, bits) if "IW" in w.tags else z3.BitVec(f"lkmm-co@{w.id}", bits))
                 for w in self.writes}
        for w in self.writes:
            if "IW" not in w.tags:
                m.constraints.append(z3.UGT(clock[w.id], 0))
        for w in self.writes:
            if w.ev is not None:
                m.coherence[w.ev.id] = clock[w.id]
        co: Rel = {}
        for i, a in enumerate(self.writes):
            for b in self.writes[i + 1:]:
                if not set(a.cands) & set(b.cands):
                    continue
                same = _and(a.executed, b.executed, a.loc == b.loc) if not a.loc.eq(b.loc) else _and(a.executed, b.executed)
                if "IW" in a.tags and "IW" in b.tags:
                    continue
                m.constraints.append(z3.Implies(same, clock[a.id] != clock[b.id]))
                co[(a.id, b.id)] = _and(same, z3.ULT(clock[a.id], clock[b.id]))
                co[(b.id, a.id)] = _and(same, z3.ULT(clock[b.id], clock[a.id]))
        self.co_clock = clock
        return self.define(co, "co")

    # ---- linux-kernel.cat ---------------------------------------------------------------------
    def axioms(self) -> None:
        if self.m.axioms == SEQUENTIAL:
            self.sequential()
            return
        self.execution()
        self.per_location()
        if self.m.axioms == PER_LOCATION:
            return
        self.dependencies()
        if self.m.axioms == MARKED:
            MarkedAxioms(self).state()
            return
        S, po = self.S, self.po
        M, W = S["M"], S["W"]
        rf, co, fr, rmw = self.rf, self.co, self.fr, self.rmw
        rfe = self.external(rf)
        po_loc = self.po_loc
        # let acq-po = [Acquire] ; po ; [M]; let po-rel = [M] ; po ; [Release]
        acq_po = self.dom(S["Acquire"], po, M)
        po_rel = self.dom(M, po, S["Release"])
        # let po-unlock-lock-po = po ; [UL] ; (po|rf) ; [LKR] ; po
        po_unlock_lock_po = self.seq(po, self.id_(S["UL"]), self.union(po, rf), self.id_(S["LKR"]), po)
        R4rmb = S["R4rmb"]
        rmb = self.dom(R4rmb, self.fencerel(S["rmb"]), R4rmb)
        wmb = self.dom(W, self.fencerel(S["wmb"]), W)
        po_opt = self.opt(po)
        mb = self.union(
            self.dom(M, self.fencerel(S["mb"]), M),
            self.rng(self.seq(self.dom(M, self.fencerel(S["before-atomic"])), self.rmw_id, po_opt), M),
            self.rng(self.seq(self.dom(M, po_opt), self.rmw_id, self.fencerel(S["after-atomic"])), M),
            self.rng(self.seq(self.dom(M, po_opt, S["LKW"]), self.fencerel(S["after-spinlock"])), M),
            self.rng(self.seq(self.dom(M, po_unlock_lock_po), self.id_(S["after-unlock-lock"]), po), M))
        gp = self.seq(po, self.id_(S["sync-rcu"]), po_opt)
        strong_fence = self.union(mb, gp)
        nonrw_fence = self.union(strong_fence, po_rel, acq_po)
        fence = self.union(nonrw_fence, wmb, rmb)
        def barrier() -> Rel:   # only the mixed-accesses flag uses it
            return self.union(
                self.fencerel(S["barrier"] | S["rmb"] | S["wmb"] | S["mb"] | S["sync-rcu"] | S["before-atomic"]
                              | S["after-atomic"] | S["Acquire"] | S["Release"] | S["rcu-lock"] | S["rcu-unlock"]),
                self.rng(po, S["Release"]), self.dom(S["Acquire"], po))
        to_r, rwdep = self.dependency_orders()
        overwrite = self.union(co, fr)
        to_w = self.union(rwdep, self.internal(overwrite), self.seq(self.rng(self.addr, S["Plain"]), wmb))
        ppo = self.union(to_r, to_w, fence, self.internal(po_unlock_lock_po))
        marked = S["Marked"]

        def a_cumul(r: Rel) -> Rel:
            return self.seq(self.opt(self.rng(rfe, marked)), r)

        rmw_sequence = self.star(self.seq(rf, rmw), "rmw-sequence")
        cumul_fence = self.seq(self.dom(marked, self.union(a_cumul(self.union(strong_fence, po_rel)), wmb,
                                                             po_unlock_lock_po), marked), rmw_sequence)
        cumul_star = self.star(cumul_fence, "cumul-fence")
        prop = self.dom(marked, self.seq(self.opt(self.external(overwrite)), cumul_star,
                                         self.dom(marked, self.opt(rfe), marked)))
        ident = self.id_(self.ends)
        hb = self.dom(marked, self.union(ppo, rfe, self.internal(self.diff(prop, ident))), marked)
        hb = self.define(hb, "hb")
        self.acyclic(hb, "happens-before")
        # acyclic pb as propagation, with pb = prop ; strong-fence ; hb* ; [Marked]: stated as
        # acyclic (hb | prop ; strong-fence ; [Marked]) (NOTE(pb-union)), which needs no hb*
        prop_sf = self.rng(self.seq(prop, strong_fence), marked)
        self.acyclic(self.union(hb, prop_sf), "propagation")
        # the relations below only where something uses them (NOTE(lazy-relations))
        lazy: dict[str, Rel] = {}

        def hb_star() -> Rel:
            if "hb*" not in lazy:
                lazy["hb*"] = self.star(hb, "hb")
            return lazy["hb*"]

        def pb() -> Rel:
            if "pb" not in lazy:
                lazy["pb"] = self.define(self.rng(self.seq(prop_sf, hb_star()), marked), "pb")
            return lazy["pb"]

        def pb_star() -> Rel:
            if "pb*" not in lazy:
                lazy["pb*"] = self.star(pb(), "pb")
            return lazy["pb*"]

        # RCU
        rcu_rscs = self._rcu_rscs()
        rb: Rel = {}
        if S["sync-rcu"]:   # without a grace period rcu-order, rcu-fence and rb are empty
            rcu_gp = self.id_(S["sync-rcu"])
            rcu_rscsi = self.inv(rcu_rscs)
            rcu_link = self.seq(po_opt, hb_star(), pb_star(), prop, po)
            rcu_link = self.define(rcu_link, "rcu-link")
            rcu_order: Rel = {}
            rounds = len(S["sync-rcu"]) + len(rcu_rscs) + 1
            for _ in range(rounds):
                nxt = self.union(rcu_gp, self.seq(rcu_gp, rcu_link, rcu_rscsi), self.seq(rcu_rscsi, rcu_link, rcu_gp),
                                 self.seq(rcu_gp, rcu_link, rcu_order, rcu_link, rcu_rscsi),
                                 self.seq(rcu_rscsi, rcu_link, rcu_order, rcu_link, rcu_gp),
                                 self.seq(rcu_order, rcu_link, rcu_order))
                rcu_order = self.define(nxt, "rcu-order")
            rcu_fence = self.seq(po, rcu_order, po_opt)
            fence = self.union(fence, rcu_fence)
            strong_fence = self.union(strong_fence, rcu_fence)
            rb = self.rng(self.seq(prop, rcu_fence, hb_star(), pb_star()), marked)
            self.irreflexive(rb)
        # plain accesses: mixed-accesses and data-race flags, plain-coherence
        plain_w = S["Plain"] & W
        exact = self.m.closure_rounds is None   # flags only on the exact closures (NOTE(bounded-closures))
        if plain_w and exact:
            po_loc_nb = self.diff(po_loc, barrier())
            mixed = self.union(self.dom(plain_w, po_loc_nb, marked), self.dom(marked, po_loc_nb, plain_w))
            self.m.flags["mixed-accesses"] = _not(self.empty(mixed))
        elif exact:
            self.m.flags["mixed-accesses"] = _F
        plain, nonIW = S["Plain"], M - S["IW"]
        # pre-race = ext & ((Plain * M) | ((M \ IW) * Plain)), less the pairs no relation it is
        # intersected with can hold (NOTE(lazy-relations)): every use below is under co, fr or
        # co? ; rf, so a pair of two reads, or one ending at an initial write, which is first in
        # coherence order and read by no read that an fr edge could start at, is in none of them
        pre_race = {p: f for p, f in self.external(self.loc_pairs).items()
                    if ((p[0] in plain and p[1] in M) or (p[0] in nonIW and p[1] in plain))
                    and p[1] in nonIW and (p[0] in W or p[1] in W)}
        if not pre_race:   # no plain access another thread's access can meet: no race, no incoherence
            self.m.flags["data-race"] = _F
            return
        w_pre_bounded = self.dom(marked, self.opt(self.union(self.addr, fence)))
        r_pre_bounded = self.dom(marked, self.opt(self.union(
            self.addr, nonrw_fence, self.dom(R4rmb, self.fencerel(S["rmb"]), M - S["noreturn"]))))
        r_post_rel = self.opt(self.union(nonrw_fence, self.dom(M - S["noreturn"], self.fencerel(S["rmb"]), R4rmb)))
        if S["sync-rcu"]:
            xbstar = self.star(self.union(hb, pb(), rb), "xb")
            vis = self.seq(cumul_star, self.opt(rfe), self.id_(marked),
                           self.union(self.seq(strong_fence, self.id_(marked), xbstar), self.internal(xbstar)))
            w_post_bounded = self.seq(self.opt(fence), self.id_(marked), rmw_sequence)
            r_post_bounded = self.seq(r_post_rel, self.id_(marked))
            ww_vis = self.union(fence, self.seq(strong_fence, xbstar, w_pre_bounded),
                                self.seq(w_post_bounded, vis, w_pre_bounded))
            wr_vis = self.union(fence, self.seq(strong_fence, xbstar, r_pre_bounded),
                                self.seq(w_post_bounded, vis, r_pre_bounded))
            rw_xbstar = self.union(fence, self.seq(r_post_bounded, xbstar, w_pre_bounded))
        else:
            ww_vis, wr_vis, rw_xbstar = self._visibility_at(
                pre_race, self.union(hb, prop_sf), fence, strong_fence, cumul_star, rfe, rmw_sequence,
                w_pre_bounded, r_pre_bounded, r_post_rel)
        wr_incoh = self.inter(self.inter(pre_race, rf), self.inv(rw_xbstar))
        rw_incoh = self.inter(self.inter(pre_race, fr), self.inv(wr_vis))
        ww_incoh = self.inter(self.inter(pre_race, co), self.inv(ww_vis))
        self.m.constraints.append(self.empty(self.union(wr_incoh, rw_incoh, ww_incoh)))
        if not exact:
            return
        mw = {p: f for p, f in ww_vis.items() if p[0] in marked and p[1] in W}
        wm = {p: f for p, f in ww_vis.items() if p[0] in W and p[1] in marked}
        ww_nonrace = self.inter(self.inter(ww_vis, self.union(mw, rw_xbstar)), self.union(wm, wr_vis))
        ww_race = self.diff(self.inter(pre_race, co), ww_nonrace)
        wr_race = self.diff(self.diff(self.inter(pre_race, self.seq(self.opt(co), rf)), wr_vis), self.inv(rw_xbstar))
        rw_race = self.diff(self.inter(pre_race, fr), rw_xbstar)
        self.m.flags["data-race"] = _not(self.empty(self.union(ww_race, wr_race, rw_race)))

    def sequential(self) -> None:
        """Sequential consistency with atomic steps (NOTE(sequential-level)): each `rf`, `co` and
        `fr` edge between events of two steps orders their step clocks (program order already
        does, along a thread), so the steps run in one order and each read returns the last write
        before it. Coherence and the atomicity of an RMW follow: an RMW's read and write are one
        step. `fr` is stated per read and write (NOTE(fr-clock)). An initial write
        has no step and comes before every step; a FINAL event has none either, and reads the
        coherence-last write (`_finals`)."""
        m = self.m
        self.rf = self._reads_from()
        self.co = self._coherence()
        step = m.step_clock

        def before(a: Node, b: Node, f: z3.BoolRef) -> None:
            x, y = a.ev, b.ev
            if x is None or y is None or x.step == y.step or x.step not in step or y.step not in step:
                return
            m.constraints.append(z3.Implies(f, z3.ULT(step[x.step], step[y.step])))

        for (w, r), v in self.rf.items():
            before(self.n[w], self.n[r], v)
        for (a, b), f in self.co.items():
            before(self.n[a], self.n[b], f)
        for (r, w), f in self._from_reads().items():
            before(self.n[r], self.n[w], f)

    def _from_reads(self) -> Rel:
        """fr = rf^-1 ; co (never reflexive: a read is no write), stated per read and write
        through the coherence clock of the write the read took its value from (NOTE(fr-clock))."""
        m, clock = self.m, self.co_clock
        took: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        for (w, r), v in self.rf.items():
            took.setdefault(r, []).append((w, v))
        fr: Rel = {}
        for r in self.reads:
            if not took.get(r.id):
                continue
            seen = self._fresh_clock(f"seen@{r.id}", clock)
            for w, v in took[r.id]:
                m.constraints.append(z3.Implies(v, seen == clock[w]))
            for w in self.writes:
                if "IW" in w.tags or not set(w.cands) & set(r.cands):
                    continue
                same = _and(r.executed, w.executed, r.loc == w.loc) if not r.loc.eq(w.loc) else _and(r.executed, w.executed)
                fr[(r.id, w.id)] = _and(same, z3.ULT(seen, clock[w.id]))
        return self.define(fr, "fr")

    def _fresh_clock(self, name: str, like: dict[int, z3.BitVecRef]) -> z3.BitVecRef:
        width = next(iter(like.values())).size()
        return z3.BitVec(f"lkmm-{name}", width)

    def _visibility_at(self, pre_race: Rel, xb: Rel, fence: Rel, strong_fence: Rel, cumul_star: Rel, rfe: Rel,
                       rmw_sequence: Rel, w_pre_bounded: Rel, r_pre_bounded: Rel,
                       r_post_rel: Rel) -> tuple[Rel, Rel, Rel]:
        """NOTE(visibility-at): ww-vis, wr-vis and rw-xbstar of linux-kernel.cat, only at the
        pairs the plain-access axiom and the data-race flag read them at (pre-race and its
        inverse), for an execution without a grace period. There xbstar = (hb | pb)* is
        xb* with xb = hb | prop ; strong-fence ; [Marked] (the same relation), and xb is
        acyclic in every execution the axioms allow (it is the union acyclic-pb states,
        NOTE(pb-union)). Each of the three ends `xbstar ; k-pre-bounded` at the pair's second
        event b (k is w or r), so instead of xbstar (cubic to build) one Boolean per event x and
        end b says `(xbstar ; k-pre-bounded)(x, b)`, defined equal to `k-pre-bounded(x, b) or
        some xb edge x -> z with the Boolean of z`. On an acyclic graph that equation has one
        solution, the relation itself, so it is exact. `xbstar & int ; k-pre-bounded` (in vis)
        is the same Boolean at x of b's thread: k-pre-bounded relates events of one thread."""
        marked = self.S["Marked"]
        wanted = set(pre_race) | {(b, a) for a, b in pre_race}
        sources = {a for a, _ in wanted}
        ends = {b for _, b in wanted}
        succ: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        pred: dict[int, set[int]] = {}
        for (x, z), f in xb.items():
            if x != z:
                succ.setdefault(x, []).append((z, f))
                pred.setdefault(z, set()).add(x)
        into: dict[tuple[str, int], dict[int, z3.BoolRef]] = {}
        for kind, pre in (("w", w_pre_bounded), ("r", r_pre_bounded)):
            for (x, b), f in pre.items():
                if b in ends:
                    into.setdefault((kind, b), {})[x] = f
        reach_memo: dict[tuple[str, int], dict[int, z3.BoolRef]] = {}

        def reach(kind: str, b: int) -> dict[int, z3.BoolRef]:
            """x -> (xbstar ; kind-pre-bounded)(x, b), for each x that can reach b at all."""
            if (kind, b) in reach_memo:
                return reach_memo[(kind, b)]
            base = into.get((kind, b), {})
            live, todo = set(base), list(base)
            while todo:
                z = todo.pop()
                for x in pred.get(z, ()):
                    if x not in live:
                        live.add(x)
                        todo.append(x)
            g = {x: self.m.fresh(f"xb-{kind}{b}") for x in sorted(live)}
            for x, v in g.items():
                options = [base.get(x, _F)] + [_and(f, g[z]) for z, f in succ.get(x, ()) if z in g]
                self.m.constraints.append(v == _or(options))
            reach_memo[(kind, b)] = g
            return g

        def by_source(r: Rel) -> dict[int, list[tuple[int, z3.BoolRef]]]:
            out: dict[int, list[tuple[int, z3.BoolRef]]] = {}
            for (a, x), f in r.items():
                out.setdefault(a, []).append((x, f))
            return out

        def through(left: dict[int, list[tuple[int, z3.BoolRef]]], a: int, g: dict[int, z3.BoolRef],
                    thread: int | None = None) -> z3.BoolRef:
            return _or([_and(f, g[x]) for x, f in left.get(a, ()) if x in g
                        and (thread is None or self.n[x].thread == thread)])

        w_post = self.seq(self.dom(sources, self.opt(fence)), self.id_(marked), rmw_sequence)
        to_vis = self.seq(w_post, cumul_star, self.opt(rfe), self.id_(marked))   # w-post-bounded ; vis up to xbstar
        sf_left = by_source(self.dom(sources, strong_fence))
        vis_sf = by_source(self.seq(to_vis, strong_fence, self.id_(marked)))
        vis_int = by_source(to_vis)
        r_post = by_source(self.seq(self.dom(sources, r_post_rel), self.id_(marked)))
        ww_vis: Rel = {}
        wr_vis: Rel = {}
        rw_xbstar: Rel = {}
        for a, b in sorted(wanted):
            t = self.n[b].thread
            for kind, out in (("w", ww_vis), ("r", wr_vis)):
                g = reach(kind, b)
                f = _or([fence.get((a, b), _F), through(sf_left, a, g), through(vis_sf, a, g),
                         through(vis_int, a, g, t)])
                if f is not _F:
                    out[(a, b)] = f
            f = _or([fence.get((a, b), _F), through(r_post, a, reach("w", b))])
            if f is not _F:
                rw_xbstar[(a, b)] = f
        return ww_vis, wr_vis, rw_xbstar

    def _ends(self) -> set[int]:
        r"""NOTE(fence-ends): the events a relation pair can start or end at: every memory
        event and every smp_mb__after_unlock_lock(), and any other fence only where there is a grace period (gp and the RCU relations start
        and end at fences). Without one, a fence F is an endpoint of a pair of linux-kernel.cat
        only through po-unlock-lock-po (po ; [UL] ; (po | rf) ; [LKR] ; po): every other
        relation between F and another event is restricted to memory accesses ([M], [W], [R],
        [Release], [Acquire]) or is the identity, which no axiom keeps (hb takes prop \ id; pb
        and the plain-access relations start and end at memory accesses). So an edge into F ends
        `[LKR] ; po` at F and an edge out of F starts `po ; [UL]` from F. On a cycle or a path
        an axiom reads, F has both, so a lock acquire LKR precedes F in its thread, and that
        acquire's own write LKW (the next event of the same spin_lock(), before F) is a Marked
        memory event that every such edge into F also reaches, and every such edge out of F
        also leaves: each path through F is a path through LKW with the same relations. Leaving
        fences out of the pairs keeps every axiom's verdict (the generated locked shapes in
        tests/prove/test_lkmm_prover.py check it against the evaluator, which keeps them);
        fencerel still has them in the middle. An smp_mb__after_unlock_lock() stays an endpoint:
        mb composes po-unlock-lock-po ; [After-unlock-lock] ; po through it, so the pairs of
        po-unlock-lock-po that end at it are needed (SB+unlocklock+after-unlock-lock in the
        tests is Never only with them)."""
        ends = {x.id for x in self.n if x.kind != "F"} | self.S["after-unlock-lock"]
        return ends | self.S["F"] if self.S["sync-rcu"] else ends

    def _rcu_rscs(self) -> Rel:
        """rcu-rscs of linux-kernel.bell: each rcu_read_lock() matched with its rcu_read_unlock()
        by nesting, per thread. Only sections whose lock and unlock run under the same path
        condition are encoded (an unlock that rides with steps of two paths, NOTE(fence-events),
        is two events of different conditions); any other is refused."""
        S = self.S
        out: Rel = {}
        by_thread: dict[int, list[Node]] = {}
        for x in self.n:
            if x.id in S["rcu-lock"] or x.id in S["rcu-unlock"]:
                by_thread.setdefault(x.thread, []).append(x)

        def refuse(x: Node) -> None:
            assert x.ev is not None
            raise error(x.ev.span or Span(self.m.program.path, 0, 0),
                        "an RCU read-side section whose rcu_read_lock() and rcu_read_unlock() run on different "
                        "paths is not encoded under the LKMM yet")

        for xs in by_thread.values():
            # one statement's copies (NOTE(fence-events): a fence rides with a step of each path
            # after it) are one fence: at most one of them happens
            xs.sort(key=lambda x: x.order)
            fences: dict[int, list[Node]] = {}
            for x in xs:
                assert x.ev is not None
                fences.setdefault(x.ev.instance, []).append(x)
            stack: list[list[Node]] = []
            for copies in fences.values():
                first = copies[0]
                if first.id in S["rcu-lock"]:
                    stack.append(copies)
                elif stack:
                    locks = stack.pop()
                    if locks[0].ev.origin is not first.ev.origin:   # type: ignore[union-attr]
                        refuse(first)
                    for a in locks:
                        for b in copies:
                            if a.order < b.order:
                                out[(a.id, b.id)] = _and(a.executed, b.executed)
                elif first.ev.origin is not TRUE:
                    refuse(first)
        return out


# NOTE(ghost-lkmm): ghost variables are the model's bookkeeping, with no kernel counterpart, so the
# LKMM says nothing about them; objcg-prove gives them the weakest meaning under which what a
# property reads is tied to the execution at all. A ghost write is a release and a ghost read an
# acquire of its ghost location (never plain: a ghost access never races), and a ghost read and
# write of one location in one step are one atomic read-modify-write. So a property reads what
# the execution has made visible at that point: a ghost counter of the threads in a critical
# section (models/examples/peterson.dsl) sees two threads in it exactly when the lock lets the
# second one in before the first one's critical section is visible to it. With no ordering at all
# a ghost read could take any value its location ever holds, and every property that reads one
# would fail in every model. The price is that a ghost handoff (an `await` on a ghost that another
# thread writes) synchronises as a release/acquire pair would: where the kernel synchronises more
# weakly than that, the model must say so with real accesses (docs/lkmm.md, "Ghost variables").
def _is_ghost(prog: EventProgram, ev: Event) -> bool:
    return all(prog.layout.locations[c].ghost for c in ev.cands)


def _ghost_rmws(prog: EventProgram) -> dict[int, int]:
    """Each ghost read of a step and the ghost write of the same location after it in the step."""
    out: dict[int, int] = {}
    for st in prog.steps:
        evs = [prog.events[e] for e in st.events if _is_ghost(prog, prog.events[e])]
        for i, r in enumerate(evs):
            if r.kind != READ:
                continue
            for w in evs[i + 1:]:
                if w.kind == WRITE and w.loc is r.loc and w.id not in out.values():
                    out[r.id] = w.id
                    break
    return out


def _exactly_one(xs: list[z3.BoolRef]) -> z3.BoolRef:
    if not xs:
        return z3.BoolVal(False)
    if len(xs) == 1:
        return xs[0]
    at_most = [z3.Or(z3.Not(a), z3.Not(b)) for i, a in enumerate(xs) for b in xs[i + 1:]]
    return z3.And(z3.Or(xs), *at_most)
