"""The LKMM's happens-before and propagation axioms stated with clocks, without closures
(the marked level, NOTE(marked-level)); part of the LKMM encoding (prove/lkmm.py builds the
events and `rf`, `co`, `fr`, the dependencies and the per-location axioms this module reads).

NOTE(marked-level): with `axioms=MARKED` the encoding states linux-kernel.cat's coherence,
atomicity, happens-before and propagation axioms, and not its `rcu` and `plain-coherence` ones,
so it is a weaker model than the LKMM (every execution the LKMM allows satisfies it; a violation
found there is checked on the independent evaluator, as at every level but the exact one). What
it leaves out matters only with a grace period (without one rcu-order, rcu-fence and rb are
empty) and with plain accesses that race. Nothing is built as a relation over pairs of events
but the dependencies and what one location's accesses give (`co`, `fr`, `rf`):

- `acyclic hb` and `acyclic pb` are stated together as `acyclic (hb | prop ; strong-fence ;
  [Marked])` (NOTE(pb-union) in prove/lkmm.py) on one clock `c` per Marked access: every edge
  of the union orders its two ends' clocks.
- An edge made of program order and fences (fencerel(S), po-rel, acq-po, the forms of `mb`,
  po-unlock-lock-po) is stated through running maxima along the thread: a variable per stage
  of the pattern and event, bounded below by the values before it, so a pattern costs a few
  constraints per event where its pairs are quadratic (`_Thread.through`).
- `prop` is stated by propagation: for a family of sources, a variable per event bounded below
  by the clock of every source with a `prop` path to the event, stage by stage of
  `(overwrite & ext)? ; cumul-fence* ; rfe?` (`_Family`). Each bound is an implication
  `edge -> value(target) >= value(source)`, and each variable is free above its bounds, so in
  every execution the least solution is the maximum over the sources that reach it. Hence
  "c(b) > value(b)" says c(b) > c(a) for every source a of `prop(a, b)`, no more.
- `(prop \\ id) & int` uses one family per thread, its events the sources, and asks for a path
  of at least one step. That adds `(a, a)` for an access `a` on a `prop` cycle of one or more
  steps. Such an execution violates `acyclic hb` anyway (in one that satisfies coherence), so
  the axiom says the same; the argument, case by case on the cycle's last step, is in
  docs/lkmm.md, section 3, item 9, and the generated programs of
  tests/prove/test_lkmm_prover.py hold the level to the evaluator on it.
- `prop ; strong-fence` uses one more family, every Marked access a source, the identity path
  included.

What the marked level leaves out of the relations, each a subset of the .cat's, so the level
stays weaker than the LKMM: the fences as ends of an edge (NOTE(fence-ends) in prove/lkmm.py:
without a grace period no axiom needs them; gp's `po?` end at the synchronize_rcu() itself is
left out with them), and the initial writes, which have no edge into them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import z3

from .apart import in_child
from .lkmm_plain import PlainCoherence, both, pre_race_sources
from .solver import memory_limit_mb

if TYPE_CHECKING:   # the encoding's relation builder (prove/lkmm.py), which imports this module
    from .lkmm import Node, _Cat

Value = z3.BitVecRef

# NOTE(marked-size): the clock families cost about (threads + 1) x (Marked accesses + the rfe
# pairs they can be in) constraints of a few clauses each, and solving them took about half a
# megabyte per unit of that measure, beside what the process holds already: objcg_v4's smallest
# setting, 4,291 (38,214 constraints), peaked at 1.5 GB alone; objcg_v5's default scenario,
# 20,432 (163,668 constraints), at 9.5 GB alone. A family of flags (NOTE(marked-plain) in
# prove/lkmm_plain.py) has more constraints than a clock family, but of one clause each, and
# counts as a quarter of one (FLAGS_PER_UNIT): objcg_v3's smallest setting, with its 20 flag
# families, grew from 36,078 constraints and 1.4 GB to 165,849 and 2.4 GB (measure 7,068).
# Past z3's memory limit z3 may end the process instead of raising its out-of-memory error (a
# C++ `terminate`, not an exception Python sees), which ends a whole run without a word:
# objcg_v4's default scenario (261,838 constraints without the flags) did so alone at 12 GB;
# objcg_v5's default scenario did so in `objcg-prove --memory-model lkmm -p lost_update`, where
# the sequential and per-location levels' encodings were held too. So the level is built only
# up to `marked_limit()`: in a child process of run_apart (the designs' first levels,
# NOTE(first-levels) in prove/verify.py), whose end ends only itself, UNITS_PER_MIB_APART
# units per MiB of z3's memory limit (NOTE(memory-limit) in prove/solver.py: 36,156 on this
# 24 GB machine with one process, half that per process with `-j 2`); elsewhere UNITS_PER_MIB
# (12,052 here); MARKED_LIMIT when the limit is not known. Above it LevelTooLarge, and the
# property goes on to the closure levels, as when z3 has no memory for a level. Measured in a
# child: objcg_v5's default scenario, 35,118 with its 23 flag families (847,876 constraints),
# peaked at 12.7 GB, about 0.36 MB per unit, so three units per MiB of z3's share (half the
# machine) keep the child within about three quarters of it. A level whose measure is above
# UNITS_PER_MIB per MiB (`hold_limit()`) holds its flag families back from the solver until an
# assignment violates one (NOTE(held-groups) in prove/held.py), and is built when its measure
# without them is within the limit: the solver then holds the clocks and the families added.
# Held back, objcg_v3's smallest setting took 187 s to prove its lost update (3 of 20 families
# added, in four solver runs) where all 20 at once took 120 s (side by side), hence only above
# that line.
# Measures with the flags: 3,710 to 7,356 for the designs' smallest setting (every family given
# at once); on the default scenario prepatch 8,168 (at once); v1 34,155, v2 43,695, v3 55,138,
# v5 35,118 (held back; 24,288, 31,072, 32,080 and 20,432 without the flags, built in a child);
# v4 68,558 (39,888 without: not built).
MARKED_LIMIT = 12_000
UNITS_PER_MIB = 1
UNITS_PER_MIB_APART = 3
FLAGS_PER_UNIT = 4


def marked_limit(per_mib: int = 0) -> int:
    """The largest size measure the marked level is built for (NOTE(marked-size)), or that
    `per_mib` units per MiB of z3's memory limit give."""
    mb = memory_limit_mb()
    return mb * (per_mib or (UNITS_PER_MIB_APART if in_child() else UNITS_PER_MIB)) if mb else MARKED_LIMIT


def hold_limit() -> int:
    """The largest size measure the marked level gives its plain-coherence flags to the solver
    at once for (NOTE(marked-size)); above it they are held back until violated."""
    return marked_limit(UNITS_PER_MIB)


class LevelTooLarge(Exception):
    """The marked level is not built for a model this size (NOTE(marked-size))."""


class MarkedAxioms:
    """acyclic (hb | prop ; strong-fence ; [Marked]) on clocks (NOTE(marked-level))."""

    def __init__(self, cat: "_Cat") -> None:
        self.cat = cat
        self.m = cat.m
        S = cat.S
        self.nodes = cat.n
        # the ends of every edge stated: Marked memory accesses of a thread
        self.D = {x.id for x in cat.n if x.thread >= 0 and x.kind in "RW" and x.id in S["Marked"]}
        self.M = {i for i in S["M"] if cat.n[i].thread >= 0}
        self.bits = max(2, (len(self.D) + 2).bit_length())
        self.clock = {i: z3.BitVec(f"lkmm-hbc@{i}", self.bits) for i in sorted(self.D)}
        by_thread: dict[int, list[Node]] = {}
        for x in cat.n:
            if x.thread >= 0:
                by_thread.setdefault(x.thread, []).append(x)
        self.threads = {t: _Thread(self, sorted(xs, key=lambda x: x.order)) for t, xs in sorted(by_thread.items())}
        self._n = 0
        self.made: list[str] = []   # the names of the variables made, in order, when held back
        self.bounds: list[tuple[Value, Value, z3.BoolRef | None]] = []   # the flags' bounds, in order, when held back
        self.forbids: list[tuple[z3.BoolRef, tuple[Value, ...]]] = []
        self._at_unlock: dict[tuple[int, str], tuple[dict[int, Value], dict[int, Value]]] = {}
        rf_into: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        for (w, r), v in cat.rf.items():
            if w in self.D and r in self.D and cat.n[w].thread != cat.n[r].thread:
                rf_into.setdefault(r, []).append((w, v))
        self.rfe_into = rf_into
        self.plain_sources = pre_race_sources(self)
        self._ppo: dict[tuple[int, int], z3.BoolRef] | None = None
        accesses = len(self.D) + sum(len(ws) for ws in rf_into.values())
        clocks = (len(self.threads) + 1) * accesses
        size = round(clocks + len(self.plain_sources) / FLAGS_PER_UNIT * accesses)
        # the flag families held back from the solver until violated (NOTE(held-groups) in
        # prove/held.py) when the whole level is larger than UNITS_PER_MIB allows
        self.hold_flags = size > hold_limit()
        if (clocks if self.hold_flags else size) > marked_limit():
            raise LevelTooLarge(f"the marked level is not built for this model: its size measure is {size:,}, "
                                f"{clocks:,} without its plain-coherence flags, above {marked_limit():,} "
                                f"(NOTE(marked-size))")

    # ---- small helpers ---------------------------------------------------------------------
    def var(self, name: str, bits: int = 0) -> Value:
        """A fresh variable, a clock's width unless `bits` says (1: a flag, NOTE(marked-plain))."""
        self._n += 1
        label = f"lkmm-{name}#{self._n}"
        if self.hold_flags:   # a held family's own variables (NOTE(held-groups) in prove/held.py)
            self.made.append(label)
        return z3.BitVec(label, bits or self.bits)

    def at_least(self, v: Value, x: Value, guard: z3.BoolRef | None = None) -> None:
        c = z3.UGE(v, x)
        plain = guard is None or z3.is_true(guard)
        self.m.constraints.append(c if plain else z3.Implies(guard, c))
        if self.hold_flags and v.size() == 1:   # a flag's bound, said to prove/held.py (NOTE(held-groups))
            self.bounds.append((v, x, None if plain else guard))

    def after(self, b: int, x: Value, guard: z3.BoolRef | None = None) -> None:
        """c(b) > x when the guard holds (and b happens)."""
        g = self.nodes[b].executed if guard is None else both(self.nodes[b].executed, guard)
        c = z3.UGT(self.clock[b], x)
        self.m.constraints.append(c if z3.is_true(g) else z3.Implies(g, c))

    def reach(self, seeds: dict[int, Value], name: str) -> dict[int, Value]:
        """Per Marked access, a value bounded below by the seeds' values at the start of every
        `cumul-fence* ; rfe?` path to it (a `_Family` without the overwrite step)."""
        return _Family(self, seeds, name, overwrite=False).prop_ends()

    def unlock_values(self, values: dict[int, Value], name: str) -> dict[int, Value]:
        """Per unlock UL of any thread, a value bounded by `values` before it: po ; [UL]."""
        key = (id(values), name)
        if key not in self._at_unlock:
            at: dict[int, Value] = {}
            for t in self.threads.values():
                ul = t.members(self.cat.S["UL"])
                if not ul:
                    continue
                for u, terms in t.through(values, [(ul, False)], name + "u").items():
                    v = at[u] = self.var(name + "ul", terms[0].size())
                    for term in terms:
                        self.at_least(v, term, self.nodes[u].executed)
            self._at_unlock[key] = (values, at)
        return self._at_unlock[key][1]

    # ---- the axioms ------------------------------------------------------------------------
    def state(self) -> None:
        cat, D = self.cat, self.D
        # rfe
        for r, ws in self.rfe_into.items():
            for w, v in ws:
                self.after(r, self.clock[w], v)
        # ppo's pairs: to-r, to-w (dependencies, overwrite & int), stated per pair
        for (a, b), f in self.ppo_pairs().items():
            if a in D and b in D and a != b:
                self.after(b, self.clock[a], f)
        # ppo's fences: fence = strong-fence | po-rel | acq-po | wmb | rmb, and po-unlock-lock-po & int
        values = {i: self.clock[i] for i in D}
        for t in self.threads.values():
            for y, terms in t.ppo_fences(values).items():
                for x in terms:
                    self.after(y, x)
        # (prop \ id) & int: a family per thread; prop ; strong-fence: one family of every access
        for tid, t in self.threads.items():
            fam = _Family(self, {i: self.clock[i] for i in D if self.nodes[i].thread == tid}, f"p{tid}")
            for b in sorted(fam.seeds):
                for x in fam.nontrivial_into(b):
                    self.after(b, x)
        every = _Family(self, {i: self.clock[i] for i in D}, "pall")
        ends = every.prop_ends()
        for t in self.threads.values():
            for y, terms in t.strong_fence(ends, D, "pb").items():
                for x in terms:
                    self.after(y, x)
        PlainCoherence(self).state()   # NOTE(marked-plain)

    def ppo_pairs(self) -> dict[tuple[int, int], z3.BoolRef]:
        """to-r | to-w of linux-kernel.cat, but for `addr ; [Plain] ; wmb` (its wmb part is a
        fence, stated in `_Thread.ppo_fences`): each a relation of few pairs."""
        if self._ppo is None:
            cat = self.cat
            to_r, rwdep = cat.dependency_orders()
            self._ppo = cat.union(to_r, rwdep, cat.internal(cat.union(cat.co, cat.fr)))
        return self._ppo


class _Thread:
    """One thread's events in program order, and the edges of program order and fences as
    running maxima along it."""

    def __init__(self, owner: MarkedAxioms, nodes: list["Node"]) -> None:
        self.o = owner
        self.nodes = nodes
        self.tid = nodes[0].thread

    def members(self, ids: set[int]) -> set[int]:
        return {x.id for x in self.nodes if x.id in ids}

    def through(self, sources: dict[int, Value], stages: list[tuple[set[int], bool]], name: str,
                injected: dict[int, list[tuple[Value, z3.BoolRef]]] | None = None) -> dict[int, list[Value]]:
        """For each event y of the last stage, terms whose maximum is the maximum of
        `sources[x]` over the x of this thread with x R1 g1 R2 ... Rk y, each g_i a happening
        event of stage i (stages[i-1] = (its events, inclusive)) and R_i program order, or
        `po?` when inclusive. `injected[g]` adds values at events of the first stage, each under
        its guard (a lock read's unlock of another thread, through rf). The caller states what
        the terms bound under y's `executed`."""
        o = self.o
        k = len(stages)
        run: list[Value | None] = [None] * k
        out: dict[int, list[Value]] = {}
        for x in self.nodes:
            val: list[Value | None] = [None] * (k + 1)
            val[0] = sources.get(x.id)
            for i in range(1, k + 1):
                members, inclusive = stages[i - 1]
                if x.id not in members:
                    continue
                terms: list[tuple[Value, z3.BoolRef | None]] = []
                if run[i - 1] is not None:
                    terms.append((run[i - 1], None))
                if inclusive and val[i - 1] is not None:
                    terms.append((val[i - 1], None))
                if i == 1 and injected:
                    terms += injected.get(x.id, [])
                if not terms:
                    continue
                if i == k and all(g is None for _, g in terms):
                    out[x.id] = [t for t, _ in terms]
                    continue
                v = o.var(f"{name}{i}", terms[0][0].size())
                for t, g in terms:
                    o.at_least(v, t, x.executed if g is None else both(x.executed, g))
                val[i] = v
                if i == k:
                    out[x.id] = [v]
            for i in range(k):
                if val[i] is None:
                    continue
                if run[i] is None and i > 0:
                    run[i] = val[i]
                    continue
                r = o.var(f"{name}r{i}", val[i].size())
                if run[i] is not None:
                    o.at_least(r, run[i])
                o.at_least(r, val[i], x.executed if i == 0 else None)
                run[i] = r
        return out

    def strong_fence(self, values: dict[int, Value], ends: set[int], name: str) -> dict[int, list[Value]]:
        """strong-fence = mb | gp, from the accesses with values to `ends`: [M] ; fencerel(Mb) ;
        [M], its before-atomic, after-atomic, after-spinlock and after-unlock-lock forms, and
        gp = po ; [Sync-rcu] ; po? (but for its end at the fence itself)."""
        o = self.o
        S = o.cat.S
        M = o.M
        src = {i: v for i, v in values.items() if i in M}
        rmw = (S["rmw"] | S["LKR"] | S["LKW"]) & M
        ends = ends & M
        out: dict[int, list[Value]] = {}
        patterns = [
            ("mb", [(S["mb"], False), (ends, False)]),                                  # [M] ; fencerel(Mb) ; [M]
            ("ba", [(S["before-atomic"], False), (rmw, False), (ends, True)]),          # ; fencerel(Before-atomic) ; [RMW] ; po? ; [M]
            ("aa", [(rmw, True), (S["after-atomic"], False), (ends, False)]),           # ; po? ; [RMW] ; fencerel(After-atomic) ; [M]
            ("as", [(S["LKW"], True), (S["after-spinlock"], False), (ends, False)]),    # ; po? ; [LKW] ; fencerel(After-spinlock) ; [M]
            ("gp", [(S["sync-rcu"], False), (ends, True)]),                             # po ; [Sync-rcu] ; po?
        ]
        for tag, stages in patterns:
            if not all(self.members(s) for s, _ in stages[:-1]):
                continue
            for y, terms in self.through(src, stages, name + tag).items():
                out.setdefault(y, []).extend(terms)
        aul = self.members(S["after-unlock-lock"])
        if aul:   # [M] ; po-unlock-lock-po ; [After-unlock-lock] ; po ; [M]
            for y, terms in self.unlock_lock(src, [(aul, False), (ends, False)], name + "aul").items():
                out.setdefault(y, []).extend(terms)
        return out

    def unlock_lock(self, values: dict[int, Value], after: list[tuple[set[int], bool]],
                    name: str) -> dict[int, list[Value]]:
        """po ; [UL] ; (po | rf) ; [LKR] ; po and then `after`'s stages, ending in this thread:
        an unlock of any thread reaches this thread's lock reads through rf."""
        o = self.o
        S = o.cat.S
        lkr = self.members(S["LKR"])
        if not lkr:
            return {}
        at_ul = o.unlock_values(values, name)
        injected: dict[int, list[tuple[Value, z3.BoolRef]]] = {}
        for (w, r), v in o.cat.rf.items():
            if r in lkr and w in at_ul:
                injected.setdefault(r, []).append((at_ul[w], v))
        mine = {i: v for i, v in at_ul.items() if o.nodes[i].thread == self.tid}
        return self.through(mine, [(lkr, False)] + after, name, injected)

    def ppo_fences(self, values: dict[int, Value]) -> dict[int, list[Value]]:
        """The program-order edges of ppo between accesses of this thread: fence =
        strong-fence | po-rel | acq-po | wmb | rmb, po-unlock-lock-po & int, and the wmb of
        addr ; [Plain] ; wmb."""
        o = self.o
        S = o.cat.S
        D, W = o.D, S["W"]
        out = self.fences(values, D, "")

        def add(res: dict[int, list[Value]]) -> None:
            for y, terms in res.items():
                out.setdefault(y, []).extend(terms)

        if self.members(S["wmb"]):
            at_plain: dict[int, Value] = {}   # addr ; [Plain] ; wmb
            for (a, p), f in o.cat.addr.items():
                if p in S["Plain"] & W and a in values and o.nodes[p].thread == self.tid:
                    if p not in at_plain:
                        at_plain[p] = o.var("addr-plain", values[a].size())
                    o.at_least(at_plain[p], values[a], f)
            if at_plain:
                add(self.through(at_plain, [(S["wmb"], False), (D & W, False)], "apw"))
        ul, lkr = self.members(S["UL"]), self.members(S["LKR"])
        if ul and lkr:   # po ; [UL] ; po ; [LKR] ; po: rfi from an unlock to a lock is program order too
            add(self.through(values, [(ul, False), (lkr, False), (D, False)], "ulp"))
        return out

    def fences(self, values: dict[int, Value], ends: set[int], name: str, nonrw: bool = False,
               rmb: tuple[set[int], set[int]] | None = None) -> dict[int, list[Value]]:
        """fence = strong-fence | po-rel | acq-po | wmb | rmb from the accesses with values to
        `ends` (nonrw: nonrw-fence, without wmb and rmb); `rmb` gives the rmb part's two ends
        where they are not [R4rmb] ; fencerel(Rmb) ; [R4rmb]."""
        o = self.o
        S = o.cat.S
        M, W, R4 = o.M, S["W"], S["R4rmb"]
        out = self.strong_fence(values, ends, name + "sf")

        def add(res: dict[int, list[Value]]) -> None:
            for y, terms in res.items():
                out.setdefault(y, []).extend(terms)

        add(self.through({i: v for i, v in values.items() if i in M}, [(ends & S["Release"], False)], name + "rel"))
        add(self.through({i: v for i, v in values.items() if i in S["Acquire"]}, [(ends & M, False)], name + "acq"))
        if not nonrw and self.members(S["wmb"]):
            add(self.through({i: v for i, v in values.items() if i in W}, [(S["wmb"], False), (ends & W, False)],
                             name + "wmb"))
        before, after = rmb if rmb is not None else (R4, R4)
        if (rmb is not None or not nonrw) and self.members(S["rmb"]):
            add(self.through({i: v for i, v in values.items() if i in before}, [(S["rmb"], False), (ends & after, False)],
                             name + "rmb"))
        return out


class _Family:
    """`prop` from a set of sources (NOTE(marked-level)): per access, a variable bounded below by
    the value of every source with a path of `(overwrite & ext)? ; cumul-fence+` to it (`cf`),
    and one with `(overwrite & ext)` alone (`over`). A source's value is its clock, or a flag
    (NOTE(marked-plain), where `overwrite=False` leaves the overwrite step out)."""

    def __init__(self, owner: MarkedAxioms, seeds: dict[int, Value], name: str, overwrite: bool = True) -> None:
        self.o = o = owner
        self.seeds = seeds
        self.name = name
        self.bits = next(iter(seeds.values())).size() if seeds else o.bits
        cat, nodes, D, S = o.cat, o.nodes, o.D, o.cat.S
        # (overwrite & ext) from a source
        over: dict[int, Value] = {}
        for rel in (cat.co, cat.fr) if overwrite else ():
            for (a, x), f in rel.items():
                if a in seeds and x in D and nodes[a].thread != nodes[x].thread:
                    if x not in over:
                        over[x] = o.var(f"{name}ow", self.bits)
                    o.at_least(over[x], seeds[a], f)
        self.over = over
        # cumul-fence+: a variable per access, bounded by the fences' edges from every start value
        self.cf: dict[int, Value] = {i: o.var(f"{name}cf", self.bits) for i in sorted(D)}
        cf = self.cf
        self.st: dict[int, Value] = {}
        st = self.st
        for x in sorted(D):
            terms = self.start(x)
            if len(terms) == 1:
                st[x] = terms[0]
                continue
            v = st[x] = o.var(f"{name}st", self.bits)
            for t in terms:
                o.at_least(v, t, nodes[x].executed)
        pre = dict(st)   # A-cumul: (rfe ; [Marked])? before strong-fence | po-rel
        for r, ws in o.rfe_into.items():
            v = pre[r] = o.var(f"{name}pre", self.bits)
            o.at_least(v, st[r], nodes[r].executed)
            for w, g in ws:
                o.at_least(v, st[w], g)
        for t in o.threads.values():
            results = [t.strong_fence(pre, D, f"{name}sf"),
                       t.through({i: v for i, v in pre.items() if i in o.M}, [(D & S["Release"], False)], f"{name}rel")]
            if t.members(S["wmb"]):
                results.append(t.through({i: v for i, v in st.items() if i in S["W"]},
                                         [(S["wmb"], False), (D & S["W"], False)], f"{name}wmb"))
            if t.members(S["LKR"]):
                results.append(t.unlock_lock(st, [(D, False)], f"{name}ul"))
            for res in results:
                for y, terms in res.items():
                    for term in terms:
                        o.at_least(cf[y], term, nodes[y].executed)
        # ; rmw-sequence: (rf ; rmw)* after the edge
        took: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        for (w, r), g in cat.rf.items():
            if w in D:
                took.setdefault(r, []).append((w, g))
        for r, w2 in o.m.rmw_pairs:
            if w2 in D:
                for w, g in took.get(r, ()):
                    o.at_least(cf[w2], cf[w], both(g, nodes[w2].executed))

    def start(self, x: int) -> list[Value]:
        """The values at x at the end of `(overwrite & ext)? ; cumul-fence*`."""
        out = [self.seeds[x]] if x in self.seeds else []
        if x in self.over:
            out.append(self.over[x])
        out.append(self.cf[x])
        return out

    def nontrivial_into(self, b: int) -> list[Value]:
        """The values at b of `prop` paths of at least one step: b's own `cf` and `over`, and the
        start values of the writes it can read from another thread (under the rf Boolean)."""
        o = self.o
        out = [self.cf[b]]
        if b in self.over:
            out.append(self.over[b])
        for w, g in o.rfe_into.get(b, ()):
            v = o.var(f"{self.name}rfe", self.bits)
            o.at_least(v, self.st[w], g)
            out.append(v)
        return out

    def prop_ends(self) -> dict[int, Value]:
        """Per access, a value bounded below by the clock of every source with a `prop` path to
        it, the identity included."""
        o = self.o
        out: dict[int, Value] = {}
        for b in sorted(o.D):
            ws = o.rfe_into.get(b, ())
            if not ws:
                out[b] = self.st[b]
                continue
            v = out[b] = o.var(f"{self.name}end", self.bits)
            o.at_least(v, self.st[b], o.nodes[b].executed)
            for w, g in ws:
                o.at_least(v, self.st[w], g)
        return out
