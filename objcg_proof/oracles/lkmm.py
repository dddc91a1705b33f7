"""The Linux-kernel memory model, evaluated on explicit executions of a litmus test.

Input: a `litmus_syntax.LitmusTest`. Output: a `LitmusVerdict`: herd7's word for the final
condition (Never, Sometimes, Always), the numbers of allowed executions that satisfy it and
that do not, and the flags raised (data-race, mixed-accesses).

How (docs/lkmm.md, sections 3-5): every combination of one path per thread
(oracles/litmus_events.py), every reads-from that gives each read a write of its location and
value (or the initial write), and every coherence order of each location's writes (initial
write first) is a candidate execution; the relations of linux-kernel.cat are computed on it as
sets of event pairs, and it is allowed when it passes coherence, atomicity, happens-before,
propagation and plain-coherence. The `filter`, if any, keeps only the allowed executions it
holds on. This is the independent evaluator docs/lkmm.md asks for: plain Python sets, no
solver, no code shared with the prover. It covers the model with spinlocks (lock.cat, through
the lock word's values: oracles/litmus_events.py) and RCU, without SRCU; a test using SRCU is
refused by oracles/litmus_events.py.

The relation names and definitions follow linux-kernel.cat and linux-kernel.bell one for one,
each with the .cat line it implements in a comment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TypeVar

from ..lang import litmus_syntax as ls
from ..lang.diagnostics import NO_SPAN, error
from .litmus_events import Event, ThreadPath, Value, initial_values, possible_writes, thread_paths

Rel = frozenset[tuple[int, int]]
T = TypeVar("T")
MAX_CANDIDATES = 100_000   # candidate executions of one test, at most (a larger test is refused: ~1 ms each)
MAX_WRITES_PER_LOCATION = 8   # writes to one location in one combination of paths (8! coherence orders)


@dataclass(frozen=True)
class LitmusVerdict:
    """The outcome of one test: herd7's word for the final condition, the allowed executions
    that satisfy it (`positive`) and that do not (`negative`), the flags some allowed execution
    raises, and whether the quantified claim of the test (`exists`, `~exists`, `forall`) holds."""

    test: str
    verdict: str
    positive: int
    negative: int
    flags: tuple[str, ...]
    quantifier: str
    holds: bool
    candidates: int
    witness: tuple[str, ...] = ()   # an allowed execution satisfying the condition, in lines (`witness_lines`)
    witness_dot: str = ""           # the same execution as a Graphviz graph (`witness_dot`)
    allowed: int = 0                # allowed executions before the filter


# ---- relation algebra on explicit pairs ------------------------------------------------------
def seq(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> Rel:
    """a ; b"""
    after: dict[int, list[int]] = {}
    for x, y in b:
        after.setdefault(x, []).append(y)
    return frozenset((x, z) for x, y in a for z in after.get(y, ()))


def plus(r: Rel, n: int) -> Rel:
    """r+ over events 0..n-1 (Warshall)."""
    reach = [set() for _ in range(n)]
    for x, y in r:
        reach[x].add(y)
    for k in range(n):
        for i in range(n):
            if k in reach[i]:
                reach[i] |= reach[k]
    return frozenset((i, j) for i in range(n) for j in reach[i])


def ident(s: Iterable[int]) -> Rel:
    return frozenset((x, x) for x in s)


def restrict(r: Rel, left: frozenset[int] | None = None, right: frozenset[int] | None = None) -> Rel:
    """[left] ; r ; [right]"""
    return frozenset((x, y) for x, y in r if (left is None or x in left) and (right is None or y in right))


def inverse(r: Rel) -> Rel:
    return frozenset((y, x) for x, y in r)


def acyclic(r: Rel, n: int) -> bool:
    """No cycle in r (a depth-first search over events 0..n-1)."""
    after: dict[int, list[int]] = {}
    for a, b in r:
        if a == b:
            return False
        after.setdefault(a, []).append(b)
    state = [0] * n   # 0 unseen, 1 on the path, 2 done
    for root in after:
        if state[root]:
            continue
        stack = [(root, iter(after.get(root, ())))]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            for nxt in todo:
                if state[nxt] == 1:
                    return False
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(after.get(nxt, ()))))
                    break
            else:
                state[node] = 2
                stack.pop()
    return True


# ---- one candidate execution -------------------------------------------------------------------
@dataclass
class Execution:
    """Events (the initial writes first, then each thread's), with the static relations; rf and
    co are set per candidate."""

    events: list[Event]
    thread: list[int]              # -1 for an initial write
    po: Rel
    rmw: Rel
    addr: Rel
    data: Rel
    ctrl: Rel
    rscs: Rel = frozenset()                 # rcu-rscs: matched rcu_read_lock/unlock pairs
    rcu_flags: tuple[str, ...] = ()         # unmatched-rcu-lock, unmatched-rcu-unlock
    _memo: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    def _once(self, key: object, make: Callable[[], T]) -> T:
        """What depends only on the events, computed once for all the candidates of these events."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]   # type: ignore[return-value]

    def with_tag(self, *tags: str) -> frozenset[int]:
        return self._once(("tag", tags), lambda: frozenset(i for i, e in enumerate(self.events) if e.tags & set(tags)))

    def of_kind(self, kind: str) -> frozenset[int]:
        return self._once(("kind", kind), lambda: frozenset(i for i, e in enumerate(self.events) if e.kind == kind))

    def fencerel(self, *tags: str) -> Rel:
        """fencerel(S) = (po & (_ * S)) ; po"""
        return self._once(("fencerel", tags), lambda: seq(restrict(self.po, None, self.with_tag(*tags)), self.po))

    def same_location(self) -> Rel:
        """loc, on the memory events"""
        def make() -> Rel:
            m = self.of_kind("R") | self.of_kind("W")
            return frozenset((a, b) for a in m for b in m if self.events[a].loc == self.events[b].loc)
        return self._once("loc", make)

    def internal(self) -> Rel:
        """int: two events of the same thread (an initial write is of none)"""
        n = len(self.events)
        return self._once("int", lambda: frozenset((a, b) for a in range(n) for b in range(n) if self.thread[a] == self.thread[b] != -1))

    def external(self) -> Rel:
        """ext: two distinct events not of the same thread"""
        n = len(self.events)
        inside = self.internal()
        return self._once("ext", lambda: frozenset((a, b) for a in range(n) for b in range(n) if a != b and (a, b) not in inside))


# the axioms `allowed` judges by: the whole .cat; its coherence and atomicity alone (what the
# prover's per-location level states, NOTE(per-location-level) in prove/lkmm.py); those,
# happens-before, propagation and a part of plain-coherence, without rcu (the prover's marked
# level, NOTE(marked-level) in prove/lkmm_clocks.py, and NOTE(marked-plain) in
# prove/lkmm_plain.py for the part). Neither of the two smaller sets raises flags.
AXIOM_SETS = ("cat", "per-location", "marked")


def allowed(x: Execution, rf: Rel, co: Rel, axioms: str = "cat") -> tuple[bool, tuple[str, ...]]:
    """Whether linux-kernel.cat (without SRCU) allows the execution, and its flags; or whether
    a smaller set of its axioms does (AXIOM_SETS)."""
    assert axioms in AXIOM_SETS, axioms
    n = len(x.events)
    every = frozenset(range(n))
    R, W, F = x.of_kind("R"), x.of_kind("W"), x.of_kind("F")
    M = R | W
    IW = x.with_tag("IW")
    rmw_events = x.with_tag("rmw")
    Once, Acquire, Release, Noreturn = x.with_tag("once"), x.with_tag("acquire"), x.with_tag("release"), x.with_tag("noreturn")
    Id = ident(every)

    def opt(r: Rel) -> Rel:          # r?
        return r | Id

    def star(r: Rel) -> Rel:         # r*
        return plus(r, n) | Id

    def fencerel(tags: Iterable[str]) -> Rel:   # fencerel(S) = (po & (_ * S)) ; po
        return x.fencerel(*tags)

    loc, internal, ext = x.same_location(), x.internal(), x.external()
    fr = seq(inverse(rf), co)                                           # fr = rf^-1 ; co
    rfe, rfi, coe, fre = rf & ext, rf & internal, co & ext, fr & ext
    po_loc = x.po & loc

    # linux-kernel.bell
    LKR, LKW, UL = x.with_tag("lkr"), x.with_tag("lkw"), x.with_tag("ul")
    Marked = (every - M) | IW | Once | Release | Acquire | frozenset(a for a, _ in x.rmw) | frozenset(b for _, b in x.rmw) \
        | x.with_tag("lkr", "lkw", "ul", "lf", "ru")                    # | LKR | LKW | UL | LF | RL | RU
    Plain = M - Marked
    carry_dep = star(seq(x.data, rfi))                                  # carry-dep = (data ; rfi)*
    addr, ctrl, data = seq(carry_dep, x.addr), seq(carry_dep, x.ctrl), seq(carry_dep, x.data)

    # coherence and atomicity
    com = rf | co | fr                                                   # com = rf | co | fr
    if not acyclic(po_loc | com, n):                                     # acyclic po-loc | com as coherence
        return False, ()
    if x.rmw & seq(fre, coe):                                            # empty rmw & (fre ; coe) as atomic
        return False, ()
    if axioms == "per-location":
        return True, ()

    # release, acquire and fences
    acq_po = restrict(x.po, Acquire, M)                                  # acq-po = [Acquire] ; po ; [M]
    po_unlock_lock_po = seq(seq(restrict(x.po, None, UL), restrict(x.po | rf, None, LKR)), x.po)   # po ; [UL] ; (po|rf) ; [LKR] ; po
    po_rel = restrict(x.po, M, Release)                                  # po-rel = [M] ; po ; [Release]
    R4rmb = R - Noreturn                                                 # R4rmb = R \ Noreturn
    rmb = restrict(fencerel(["rmb"]), R4rmb, R4rmb)                      # rmb = [R4rmb] ; fencerel(Rmb) ; [R4rmb]
    wmb = restrict(fencerel(["wmb"]), W, W)                              # wmb = [W] ; fencerel(Wmb) ; [W]
    mb = (restrict(fencerel(["mb"]), M, M)                               # ([M] ; fencerel(Mb) ; [M])
          | restrict(seq(seq(restrict(fencerel(["before-atomic"]), M, rmw_events), opt(x.po)), ident(M)))   # | ([M] ; fencerel(Before-atomic) ; [RMW] ; po? ; [M])
          | restrict(seq(restrict(opt(x.po), M, rmw_events), fencerel(["after-atomic"])), None, M)        # | ([M] ; po? ; [RMW] ; fencerel(After-atomic) ; [M])
          | restrict(seq(restrict(opt(x.po), M, LKW), fencerel(["after-spinlock"])), None, M)             # | ([M] ; po? ; [LKW] ; fencerel(After-spinlock) ; [M])
          | restrict(seq(restrict(po_unlock_lock_po, M, x.with_tag("after-unlock-lock")), x.po), None, M))  # | ([M] ; po-unlock-lock-po ; [After-unlock-lock] ; po ; [M])
    gp = seq(restrict(x.po, None, x.with_tag("sync-rcu")), opt(x.po))   # gp = po ; [Sync-rcu | Sync-srcu] ; po?
    strong_fence = mb | gp                                               # strong-fence = mb | gp
    nonrw_fence = strong_fence | po_rel | acq_po
    fence = nonrw_fence | wmb | rmb
    barrier = (fencerel(["barrier", "rmb", "wmb", "mb", "sync-rcu", "before-atomic", "after-atomic", "acquire", "release",
                         "rcu-lock", "rcu-unlock"])
               | restrict(x.po, None, Release) | restrict(x.po, Acquire, None))

    # preserved program order
    dep = addr | data                                                    # dep = addr | data
    rwdep = restrict(dep | ctrl, None, W)                                # rwdep = (dep | ctrl) ; [W]
    overwrite = co | fr
    to_w = rwdep | (overwrite & internal) | restrict(seq(restrict(addr, None, Plain), wmb))   # to-w
    to_r = addr | seq(restrict(dep, None, Marked), rfi)                  # to-r = addr | (dep ; [Marked] ; rfi)
    ppo = to_r | to_w | fence | (po_unlock_lock_po & internal)           # ppo = to-r | to-w | fence | (po-unlock-lock-po & int)

    # propagation
    def a_cumul(r: Rel) -> Rel:                                          # A-cumul(r) = (rfe ; [Marked])? ; r
        return seq(opt(restrict(rfe, None, Marked)), r)
    rmw_sequence = star(seq(rf, x.rmw))                                  # rmw-sequence = (rf ; rmw)*
    cumul_fence = seq(restrict(a_cumul(strong_fence | po_rel) | wmb | po_unlock_lock_po, Marked, Marked), rmw_sequence)
    prop = restrict(seq(seq(seq(opt(overwrite & ext), star(cumul_fence)), ident(Marked)), opt(rfe)), Marked, Marked)
    hb = restrict(ppo | rfe | ((prop - Id) & internal), Marked, Marked)  # hb = [Marked] ; (ppo | rfe | ((prop \ id) & int)) ; [Marked]
    if not acyclic(hb, n):                                               # acyclic hb as happens-before
        return False, ()
    pb = restrict(seq(seq(prop, strong_fence), star(hb)), None, Marked)  # pb = prop ; strong-fence ; hb* ; [Marked]
    if not acyclic(pb, n):                                               # acyclic pb as propagation
        return False, ()
    if axioms == "marked":
        # the part of plain-coherence the marked level states (NOTE(marked-plain) in
        # prove/lkmm_plain.py): xbstar narrowed to ([Marked] ; (ppo | rfe) ; [Marked])* and vis to
        # cumul-fence* ; rfe? ; [Marked] ; (id | strong-fence ; [Marked] ; that), each a subset of
        # the .cat's relation, so a weaker axiom
        xbstar = star(restrict(ppo | rfe, Marked, Marked))
        vis = seq(restrict(seq(star(cumul_fence), opt(rfe)), None, Marked),
                  Id | seq(restrict(strong_fence, None, Marked), xbstar))
    else:
        # RCU
        rcu_rscsi = inverse(x.rscs)                                      # rcu-rscsi = rcu-rscs^-1
        rcu_gp = ident(x.with_tag("sync-rcu"))                           # rcu-gp = [Sync-rcu]
        rcu_link = seq(seq(seq(seq(opt(x.po), star(hb)), star(pb)), prop), x.po)   # rcu-link = po? ; hb* ; pb* ; prop ; po
        rcu_order = _rcu_order(rcu_gp, rcu_rscsi, rcu_link)
        rcu_fence = seq(seq(x.po, rcu_order), opt(x.po))                # rcu-fence = po ; rcu-order ; po?
        fence = fence | rcu_fence                                        # let fence = fence | rcu-fence
        strong_fence = strong_fence | rcu_fence                          # let strong-fence = strong-fence | rcu-fence
        rb = restrict(seq(seq(seq(prop, rcu_fence), star(hb)), star(pb)), None, Marked)   # rb = prop ; rcu-fence ; hb* ; pb* ; [Marked]
        if any(a == b for a, b in rb):                                   # irreflexive rb as rcu
            return False, ()

        # plain accesses and data races
        xbstar = star(hb | pb | rb)                                      # xbstar = (hb | pb | rb)*
        vis = seq(seq(seq(star(cumul_fence), opt(rfe)), ident(Marked)),
                  seq(seq(strong_fence, ident(Marked)), xbstar) | (xbstar & internal))
    w_pre_bounded = restrict(opt(addr | fence), Marked, None)           # [Marked] ; (addr | fence)?
    r_pre_bounded = restrict(opt(addr | nonrw_fence | restrict(fencerel(["rmb"]), R4rmb, every - Noreturn)), Marked, None)
    w_post_bounded = seq(restrict(opt(fence), None, Marked), rmw_sequence)
    r_post_bounded = restrict(opt(nonrw_fence | restrict(fencerel(["rmb"]), every - Noreturn, R4rmb)), None, Marked)
    ww_vis = fence | seq(seq(strong_fence, xbstar), w_pre_bounded) | seq(seq(w_post_bounded, vis), w_pre_bounded)
    wr_vis = fence | seq(seq(strong_fence, xbstar), r_pre_bounded) | seq(seq(w_post_bounded, vis), r_pre_bounded)
    rw_xbstar = fence | seq(seq(r_post_bounded, xbstar), w_pre_bounded)
    pre_race = ext & (frozenset((a, b) for a in Plain for b in M) | frozenset((a, b) for a in M - IW for b in Plain))
    wr_incoh = pre_race & rf & inverse(rw_xbstar)
    rw_incoh = pre_race & fr & inverse(wr_vis)
    ww_incoh = pre_race & co & inverse(ww_vis)
    if wr_incoh | rw_incoh | ww_incoh:                                   # empty ... as plain-coherence
        return False, ()
    if axioms == "marked":
        return True, ()

    flags = list(x.rcu_flags)
    plain_w = Plain & W
    mixed = restrict(po_loc - barrier, plain_w, Marked) | restrict(po_loc - barrier, Marked, plain_w)
    if mixed:
        flags.append("mixed-accesses")
    marked_w = frozenset((a, b) for a in Marked for b in W)
    w_marked = frozenset((a, b) for a in W for b in Marked)
    ww_nonrace = ww_vis & (marked_w | rw_xbstar) & (w_marked | wr_vis)
    ww_race = (pre_race & co) - ww_nonrace
    wr_race = (pre_race & seq(opt(co), rf)) - wr_vis - inverse(rw_xbstar)
    rw_race = (pre_race & fr) - rw_xbstar
    if ww_race | wr_race | rw_race:
        flags.append("data-race")
    return True, tuple(flags)


def _rcu_order(gp: Rel, rscsi: Rel, link: Rel) -> Rel:
    """rcu-order, the least fixed point of its recursive definition in linux-kernel.cat (the
    SRCU alternatives are empty: SRCU is refused)."""
    order: Rel = frozenset()
    while True:
        grown = (gp                                                      # rcu-gp
                 | seq(seq(gp, link), rscsi)                             # | (rcu-gp ; rcu-link ; rcu-rscsi)
                 | seq(seq(rscsi, link), gp)                             # | (rcu-rscsi ; rcu-link ; rcu-gp)
                 | seq(seq(seq(seq(gp, link), order), link), rscsi)      # | (rcu-gp ; rcu-link ; rcu-order ; rcu-link ; rcu-rscsi)
                 | seq(seq(seq(seq(rscsi, link), order), link), gp)      # | (rcu-rscsi ; rcu-link ; rcu-order ; rcu-link ; rcu-gp)
                 | seq(seq(order, link), order))                         # | (rcu-order ; rcu-link ; rcu-order)
        if grown == order:
            return order
        order = grown


def rcu_sections(events: list[Event], thread: list[int]) -> tuple[Rel, tuple[str, ...]]:
    """rcu-rscs of linux-kernel.bell: each rcu_read_unlock() matched with the nearest unmatched
    rcu_read_lock() before it in its thread (nested sections give nested pairs); the flags for
    what stays unmatched."""
    pairs: set[tuple[int, int]] = set()
    flags: set[str] = set()
    open_by_thread: dict[int, list[int]] = {}
    for i, e in enumerate(events):   # events are in program order within each thread
        if "rcu-lock" in e.tags:
            open_by_thread.setdefault(thread[i], []).append(i)
        elif "rcu-unlock" in e.tags:
            stack = open_by_thread.get(thread[i], [])
            if stack:
                pairs.add((stack.pop(), i))
            else:
                flags.add("unmatched-rcu-unlock")
    if any(open_by_thread.values()):
        flags.add("unmatched-rcu-lock")
    return frozenset(pairs), tuple(sorted(flags))


# ---- the test ----------------------------------------------------------------------------------
def check_litmus(test: ls.LitmusTest, axioms: str = "cat") -> LitmusVerdict:
    """Every candidate execution of `test`, judged by the model (or by a smaller set of its
    axioms, AXIOM_SETS); the verdict on its condition."""
    positive = negative = 0
    flags: set[str] = set()
    witness: tuple[str, ...] = ()
    dot = ""
    counted = [0]
    every = 0
    for x, rf, co, final, raised in allowed_executions(test, counted, axioms):
        every += 1
        if test.filter is not None and not _holds(test.filter, final):
            continue
        flags.update(raised)
        if _holds(test.condition, final):
            positive += 1
            if not witness:
                witness, dot = witness_lines(x, rf, co), witness_dot(test.name, x, rf, co)
        else:
            negative += 1
    verdict = "Never" if positive == 0 else ("Always" if negative == 0 else "Sometimes")
    holds = {"exists": positive > 0, "~exists": positive == 0, "forall": negative == 0}[test.quantifier]
    return LitmusVerdict(test.name, verdict, positive, negative, tuple(sorted(flags)), test.quantifier, holds, counted[0],
                         witness, dot, every)


def final_states(test: ls.LitmusTest) -> set[frozenset[tuple[object, Value]]]:
    """The final states (every register and location with its value) of the executions the
    model allows, `filter` not applied."""
    return {frozenset(final.items()) for _, _, _, final, _ in allowed_executions(test, [0])}


def allowed_executions(test: ls.LitmusTest, counted: list[int], axioms: str = "cat",
                       ) -> Iterator[tuple[Execution, Rel, Rel, dict[object, Value], tuple[str, ...]]]:
    """Each allowed candidate execution with its final state and flags; `counted[0]` counts
    the candidates tried."""
    init = initial_values(test)
    values = possible_writes(test)
    per_thread: list[list[ThreadPath]] = [[] for _ in test.threads]
    for path in thread_paths(test, values):
        per_thread[path.thread].append(path)
    for combo in itertools.product(*per_thread):
        x, finals_of = _assemble(init, combo)
        for rf, co in _witnesses(x):
            counted[0] += 1
            if counted[0] > MAX_CANDIDATES:
                raise error(test.span, f"more than {MAX_CANDIDATES} candidate executions: too large for the litmus checker")
            ok, raised = allowed(x, rf, co, axioms)
            if ok:
                yield x, rf, co, finals_of(co), raised


def witness_lines(x: Execution, rf: Rel, co: Rel) -> tuple[str, ...]:
    """One execution as a kernel developer reads it: each thread's events in program order, the
    write each read saw, and the coherence order of each location."""
    def name(i: int) -> str:
        e = x.events[i]
        if "IW" in e.tags:
            return f"the initial {e.loc}={e.value}"
        return f"P{x.thread[i]}'s {_event_words(e)}"

    source = {r: w for w, r in rf}
    lines = []
    for t in sorted({t for t in x.thread if t >= 0}):
        words = []
        for i, e in enumerate(x.events):
            if x.thread[i] != t:
                continue
            text = _event_words(e)
            if e.kind == "R":
                text += f" (from {name(source[i])})"
            words.append(text)
        lines.append(f"P{t}: " + "; ".join(words))
    for loc in sorted({e.loc for e in x.events if e.kind == "W" and e.loc is not None}):
        ws = [i for i, e in enumerate(x.events) if e.kind == "W" and e.loc == loc]
        ordered = sorted(ws, key=lambda w: sum((v, w) in co for v in ws))
        if len(ordered) > 1:
            lines.append(f"co {loc}: " + " -> ".join(name(w) for w in ordered))
    return tuple(lines)


def witness_dot(name: str, x: Execution, rf: Rel, co: Rel) -> str:
    """The execution as a Graphviz graph, as herd7 draws one: a column per thread with its
    events in program order, rf edges red, co blue, fr orange (the initial writes left out of
    the drawing, as herd7's `showinitwrites false`: a read from one is marked `(init)`)."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    shown = [i for i, e in enumerate(x.events) if "IW" not in e.tags]
    source = {r: w for w, r in rf}
    lines = [f"digraph {quoted(name)} {{", "  rankdir=TB;", "  node [shape=box, fontname=monospace];"]
    for t in sorted({x.thread[i] for i in shown}):
        mine = [i for i in shown if x.thread[i] == t]
        lines.append(f"  subgraph cluster_P{t} {{ label={quoted(f'P{t}')};")
        for i in mine:
            label = _event_words(x.events[i])
            if x.events[i].kind == "R" and "IW" in x.events[source[i]].tags:
                label += " (init)"
            lines.append(f"    e{i} [label={quoted(label)}];")
        lines += [f"    e{a} -> e{b} [label=po];" for a, b in zip(mine, mine[1:])]
        lines.append("  }")
    visible = set(shown)
    fr = seq(inverse(rf), co)
    for rel, colour, label in ((rf, "red", "rf"), (co, "blue", "co"), (fr, "orange", "fr")):
        immediate = rel if label != "co" else frozenset((a, b) for a, b in rel
                                                         if not any((a, c) in rel and (c, b) in rel for c in visible))
        lines += [f"  e{a} -> e{b} [color={colour}, fontcolor={colour}, label={label}];"
                  for a, b in sorted(immediate) if a in visible and b in visible]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _event_words(e: Event) -> str:
    shown = sorted(e.tags - {"rmw"})
    tag = f"[{','.join(shown)}]" if shown else "[plain]"
    if e.kind == "F":
        return f"F{tag}"
    return f"{e.kind}{tag} {e.loc}={e.value}"


def _assemble(init: dict[str, Value], combo: tuple[ThreadPath, ...]):  # type: ignore[no-untyped-def]
    """The events of one path per thread, the initial writes first; and the final state of an
    execution as a function of its coherence order."""
    events: list[Event] = []
    thread: list[int] = []
    for name in sorted(init):
        events.append(Event("W", name, init[name], frozenset({"IW"}), NO_SPAN))
        thread.append(-1)
    po: set[tuple[int, int]] = set()
    rmw: set[tuple[int, int]] = set()
    addr: set[tuple[int, int]] = set()
    data: set[tuple[int, int]] = set()
    ctrl: set[tuple[int, int]] = set()
    registers: dict[tuple[int, str], Value] = {}
    for path in combo:
        base = len(events)
        events.extend(path.events)
        thread.extend([path.thread] * len(path.events))
        po.update((base + i, base + j) for i in range(len(path.events)) for j in range(i + 1, len(path.events)))
        for pairs, into in ((path.rmw, rmw), (path.addr, addr), (path.data, data), (path.ctrl, ctrl)):
            into.update((base + a, base + b) for a, b in pairs)
        registers.update(((path.thread, r), v) for r, v in path.registers)
    rscs, rcu_flags = rcu_sections(events, thread)
    x = Execution(events, thread, frozenset(po), frozenset(rmw), frozenset(addr), frozenset(data), frozenset(ctrl),
                  rscs, rcu_flags)

    def finals(co: Rel) -> dict[object, Value]:
        state: dict[object, Value] = {("reg", t, r): v for (t, r), v in registers.items()}
        later = {a for a, _ in co}
        for i, e in enumerate(events):
            if e.kind == "W" and i not in later:
                state[("loc", e.loc)] = e.value   # type: ignore[assignment]
        return state
    return x, finals


def _witnesses(x: Execution) -> Iterator[tuple[Rel, Rel]]:
    """Every reads-from (each read from a write of its location and value) and coherence order
    (per location, the initial write first, then the others in any order)."""
    reads = [i for i, e in enumerate(x.events) if e.kind == "R"]
    writes_at: dict[str | None, list[int]] = {}
    for i, e in enumerate(x.events):
        if e.kind == "W":
            writes_at.setdefault(e.loc, []).append(i)
    sources = []
    for r in reads:
        ev = x.events[r]
        sources.append([w for w in writes_at.get(ev.loc, []) if x.events[w].value == ev.value])
        if not sources[-1]:
            return   # a read no write of this combination can satisfy
    orders_per_loc = []
    for loc, ws in sorted(writes_at.items(), key=lambda kv: str(kv[0])):
        first = [w for w in ws if "IW" in x.events[w].tags]
        rest = [w for w in ws if w not in first]
        if len(rest) > MAX_WRITES_PER_LOCATION:
            raise error(x.events[rest[0]].span, f"more than {MAX_WRITES_PER_LOCATION} writes to '{loc}' in one execution: "
                                               "too many coherence orders for the litmus checker")
        orders_per_loc.append([first + list(p) for p in itertools.permutations(rest)])
    for choice in itertools.product(*sources):
        rf = frozenset(zip(choice, reads))
        for orders in itertools.product(*orders_per_loc):
            co = frozenset((o[i], o[j]) for o in orders for i in range(len(o)) for j in range(i + 1, len(o)))
            yield rf, co


def _holds(cond: ls.Cond, final: dict[object, Value]) -> bool:
    if isinstance(cond, ls.Truth):
        return cond.value
    if isinstance(cond, ls.Not):
        return not _holds(cond.operand, final)
    if isinstance(cond, ls.And):
        return _holds(cond.left, final) and _holds(cond.right, final)
    if isinstance(cond, ls.Or):
        return _holds(cond.left, final) or _holds(cond.right, final)
    loc = cond.location
    key: object = ("loc", loc.name) if isinstance(loc, ls.SharedLoc) else ("reg", loc.thread, loc.register)
    if key not in final:
        where = loc.name if isinstance(loc, ls.SharedLoc) else f"{loc.thread}:{loc.register}"
        raise error(loc.span, f"'{where}' is not a location or register of this test")
    return final[key] == cond.value
