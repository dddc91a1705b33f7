"""A part of the LKMM's plain-coherence axiom stated with flags, without closures (the marked
level's, NOTE(marked-plain)); prove/lkmm_clocks.py, which imports this module, calls it after the
happens-before and propagation axioms, with its per-thread running maxima (`_Thread`).

NOTE(marked-plain): linux-kernel.cat's plain-coherence forbids a pre-race pair `(a, b)` (two
accesses of one location in two threads, at least one of them plain) in `rf`, `fr` or `co`
when `b` reaches `a` back through `rw-xbstar`, `wr-vis` or `ww-vis`. Those relations go through
`xbstar = (hb | pb | rb)*` and `vis`; the marked level states the incoherences with two subsets
of them, so that its axiom forbids fewer executions than the .cat's (the level stays weaker than
the LKMM):

- `xbstar` narrowed to `([Marked] ; (ppo | rfe) ; [Marked])*`;
- `vis` narrowed to `cumul-fence* ; rfe? ; [Marked] ; (id | strong-fence ; [Marked] ; that)`
  (of `xbstar & int` only the identity).

Every other part is the .cat's: `r-post-bounded`, `w-post-bounded` (with `rmw-sequence`),
`w-pre-bounded`, `r-pre-bounded` and the strong fences out of `b`. (The `fence` alternative of
each relation is program order, which a pre-race pair, of two threads, never is.)

How, without closures: "b reaches m" is a flag per Marked access m, one family of flags per
source `b` (the second access of a pre-race pair; there are few: the plain accesses a design
shares and the marked ones of the same locations). Each flag is bounded below (an implication)
by the flags of its predecessors: the seeds out of `b`, then every `ppo` and `rfe` edge, with
`ppo`'s fence patterns as running maxima along each thread (`_Thread.ppo_fences`, on 1-bit
values), and `vis`'s `cumul-fence* ; rfe?` as a `prop` family of flags without the overwrite
step (`MarkedAxioms.reach`). A flag is free above its bounds, and the axiom only asks flags to
be 0, so in every execution the least solution, reachability itself, decides: the axiom says no
more and no less than its relations. Then for each pair, its relation implies that no flag reaches `a` through
`w-pre-bounded` or `r-pre-bounded`. A family's variables are its own, so on a large model
(NOTE(marked-size) in prove/lkmm_clocks.py) the families are held back from the solver until an
assignment violates one (NOTE(held-groups) in prove/held.py), with the same answers.

The independent evaluator states the same subsets (oracles/lkmm.py, `allowed(...,
axioms="marked")`), and tests/prove/test_lkmm_prover.py holds the two to each other on generated
programs. Why these subsets: on the smallest setting, the marked level found executions for
objcg_v4's leak and objcg_v3's lost update that the whole .cat forbids by plain-coherence alone,
and every incoherence in them had such a path (T's plain PF_EXITING store reaching the
migration's plain read of it through the threadgroup rwsem's unlock, `cumul-fence` and the lock:
docs/lkmm.md, section 3, item 9). With this part both are proved at the marked level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import z3

from .held import Held

if TYPE_CHECKING:   # prove/lkmm_clocks.py, which imports this module
    from .lkmm_clocks import MarkedAxioms

Flag = z3.BitVecRef


def pre_race_sources(o: "MarkedAxioms") -> dict[int, list[tuple[str, int, z3.BoolRef]]]:
    """Per second access `b` of a pre-race pair, its pairs: (the relation, "rf", "fr" or "co";
    the first access `a`; the relation's formula)."""
    cat = o.cat
    plain = cat.S["Plain"]
    out: dict[int, list[tuple[str, int, z3.BoolRef]]] = {}
    for name, rel in (("rf", cat.rf), ("fr", cat.fr), ("co", cat.co)):
        for (a, b), f in rel.items():
            # pre-race = ext & ((Plain * M) | ((M \ IW) * Plain)); o.M has no initial write
            if a in o.M and b in o.M and (a in plain or b in plain) and o.nodes[a].thread != o.nodes[b].thread:
                out.setdefault(b, []).append((name, a, f))
    return out


class PlainCoherence:
    """The incoherences of NOTE(marked-plain), one family of flags per source."""

    def __init__(self, owner: "MarkedAxioms") -> None:
        self.o = owner
        S = owner.cat.S
        # made here, not when the module is imported: a term made at import would be in z3's
        # context before any encoding, and change which of equally short traces z3 gives under SC
        self.one = z3.BitVecVal(1, 1)
        self.R4 = S["R4rmb"]
        self.returning = owner.M - S["noreturn"]
        self.rmw_steps = self._rmw_steps()

    def state(self) -> None:
        """Each source's family; held back from the solver until an assignment violates it
        (NOTE(held-groups) in prove/held.py) when the owner says so: a family adds only
        variables of its own."""
        o = self.o
        constraints = o.m.constraints
        for b, pairs in sorted(self.o.plain_sources.items()):
            first, made, bounds, forbids = len(constraints), len(o.made), len(o.bounds), len(o.forbids)
            reached = self._reached(b)
            self._forbid(b, pairs, reached)
            if o.hold_flags:
                own = frozenset(o.made[made:])
                mine = tuple(o.bounds[bounds:])
                # said as bounds and forbids only when they are the whole family, over its own flags
                said = len(mine) + len(o.forbids) - forbids == len(constraints) - first and \
                    all(z3.is_bv_value(x) or str(x) in own for _, x, _ in mine) and \
                    all(str(t) in own for _, terms in o.forbids[forbids:] for t in terms)
                o.m.held_back.append(Held(f"plain-coherence from event {b} ({o.nodes[b].kind}, thread {o.nodes[b].thread})",
                                     tuple(constraints[first:]), own, mine if said else None,
                                     tuple(o.forbids[forbids:]) if said else None))
                del constraints[first:], o.bounds[bounds:], o.forbids[forbids:]

    # ---- from b to the Marked accesses it reaches ------------------------------------------
    def _reached(self, b: int) -> dict[int, Flag]:
        o = self.o
        name = f"pc{b}"
        if o.nodes[b].kind == "R":
            # r-post-bounded = (nonrw-fence | ([~Noreturn] ; fencerel(Rmb) ; [R4rmb]))? ; [Marked]
            seeds = self._out_of(b, name + "p", nonrw=True, rmb=(self.returning, self.R4))
            if b in o.D:
                seeds.setdefault(b, []).append(self.one)
            return self._xbstar(seeds, name)
        # strong-fence ; xbstar, and
        # w-post-bounded ; cumul-fence* ; rfe? ; [Marked] ; (id | strong-fence ; [Marked] ; xbstar)
        post = self._flags(name + "w")
        for y, terms in self._out_of(b, name + "w").items():   # fence? ; [Marked]
            for term in terms:
                o.at_least(post[y], term, o.nodes[y].executed)
        if b in o.D:
            o.at_least(post[b], self.one, o.nodes[b].executed)
        for w, w2, g in self.rmw_steps:   # ; rmw-sequence = (rf ; rmw)*
            o.at_least(post[w2], post[w], g)
        seen = o.reach(post, name + "v")   # ; cumul-fence* ; rfe? ; [Marked]
        seeds = self._out_of(b, name + "sf", strong=True)
        for u in o.threads.values():
            for y, terms in u.strong_fence(seen, o.D, name + "vsf").items():
                seeds.setdefault(y, []).extend(terms)
        reached = self._xbstar(seeds, name)
        out = {}
        for x in o.D:
            v = out[x] = o.var(name + "vis", 1)
            o.at_least(v, reached[x])
            o.at_least(v, seen[x])
        return out

    def _rmw_steps(self) -> list[tuple[int, int, z3.BoolRef]]:
        """Each step (w, w2, guard) of `rf ; rmw` between Marked accesses: w2's read-modify-write
        read w's value; the same for every family."""
        o = self.o
        took: dict[int, list[tuple[int, z3.BoolRef]]] = {}
        for (w, r), g in o.cat.rf.items():
            if w in o.D:
                took.setdefault(r, []).append((w, g))
        return [(w, w2, both(g, o.nodes[w2].executed))
                for r, w2 in o.m.rmw_pairs if w2 in o.D for w, g in took.get(r, ())]

    def _out_of(self, b: int, name: str, strong: bool = False, nonrw: bool = False,
                rmb: tuple[set[int], set[int]] | None = None) -> dict[int, list[Flag]]:
        """The Marked accesses at the end of a fence from b: strong-fence, nonrw-fence or fence.
        Every thread's: po-unlock-lock-po ; [After-unlock-lock] ; po, a strong fence, goes from
        an unlock to another thread's lock."""
        out: dict[int, list[Flag]] = {}
        for t in self.o.threads.values():
            res = t.strong_fence({b: self.one}, self.o.D, name) if strong else \
                t.fences({b: self.one}, self.o.D, name, nonrw=nonrw, rmb=rmb)
            for y, terms in res.items():
                out.setdefault(y, []).extend(terms)
        return out

    def _flags(self, name: str) -> dict[int, Flag]:
        return {x: self.o.var(name, 1) for x in sorted(self.o.D)}

    def _xbstar(self, seeds: dict[int, list[Flag]], name: str) -> dict[int, Flag]:
        """Per Marked access, a flag bounded below by the seeds and by `([Marked] ; (ppo | rfe) ;
        [Marked])` from every flag before it: reachability from the seeds, in its least solution."""
        o = self.o
        nodes = o.nodes
        flag = self._flags(name + "x")
        for y, terms in seeds.items():
            for term in terms:
                o.at_least(flag[y], term, nodes[y].executed)
        for (a, b), f in o.ppo_pairs().items():
            if a in o.D and b in o.D and a != b:
                o.at_least(flag[b], flag[a], both(f, nodes[b].executed))
        for t in o.threads.values():
            for y, terms in t.ppo_fences(flag).items():
                for term in terms:
                    o.at_least(flag[y], term, nodes[y].executed)
        for r, ws in o.rfe_into.items():
            for w, g in ws:
                o.at_least(flag[r], flag[w], g)
        return flag

    # ---- back into a -------------------------------------------------------------------------
    def _forbid(self, b: int, pairs: list[tuple[str, int, z3.BoolRef]], reached: dict[int, Flag]) -> None:
        """No pair's relation together with a path from `reached` into its first access through
        w-pre-bounded (rf, co: a write) or r-pre-bounded (fr: a read)."""
        o = self.o
        nodes = o.nodes
        groups: dict[tuple[int, bool], set[int]] = {}
        for rel, a, _ in pairs:
            groups.setdefault((nodes[a].thread, rel == "fr"), set()).add(a)
        into: dict[tuple[int, bool], dict[int, list[Flag]]] = {}
        for (tid, read), ends in sorted(groups.items(), key=lambda kv: kv[0]):
            name = f"pc{b}{'r' if read else 'w'}{tid}"
            # [Marked] ; (addr | fence)? and [Marked] ; (addr | nonrw-fence | ([R4rmb] ; fencerel(Rmb) ; [~Noreturn]))?
            terms = o.threads[tid].fences(reached, ends, name, nonrw=read,
                                          rmb=(self.R4, self.returning) if read else None)
            for a in ends:
                terms.setdefault(a, [])
                if a in reached:
                    terms[a].append(reached[a])
            for (m, a), f in o.cat.addr.items():
                if a in ends and m in reached:
                    v = o.var(name + "addr", 1)
                    o.at_least(v, reached[m], f)
                    terms[a].append(v)
            into[(tid, read)] = terms
        for rel, a, f in pairs:
            terms = into[(nodes[a].thread, rel == "fr")].get(a, [])
            if terms:
                guard = both(f, both(nodes[a].executed, nodes[b].executed))
                o.m.constraints.append(z3.Implies(guard, z3.And([t == 0 for t in terms])))
                if o.hold_flags:
                    o.forbids.append((guard, tuple(terms)))


def both(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    """a and b, without a conjunction where one of them is true."""
    if z3.is_true(a):
        return b
    if z3.is_true(b):
        return a
    return z3.And(a, b)
