"""The independent check of a weak-memory counterexample: is its execution graph one the LKMM
allows?

Input: a `verdict.WeakExecution`, the graph of a counterexample the prover found under the LKMM
(prove/decode.py): each thread's events as the program made them (kind, location, values, the
DSL's mode and builtin), which write each read took its value from, each location's coherence
order, the address, data and control dependencies. Output: "" when the explicit evaluator of
linux-kernel.cat (oracles/lkmm.py, `allowed`) allows the execution and every read returns the
value of the write it reads from; otherwise why not, in words. runner/batch.py calls this for
every LKMM counterexample before it is shown (this module is the glue between the prover's
result and the evaluator, which knows nothing of the prover): a graph the evaluator rejects is an internal
error, as a counterexample that does not replay is under sequential consistency.

The LKMM class of each event is given here, from docs/lkmm.md, section 2, not from the
prover's encoding (prove/lkmm.py): a plain access has no marking, READ_ONCE/WRITE_ONCE are
`once`, smp_load_acquire an acquire, smp_store_release and rcu_assign_pointer a release; a
fully ordered RMW (`mb`, and put, kill, tryget, tryget_live of a refcount) is its read and
write between two mb fences when it writes; a non-value-returning one (`relaxed`, and a
refcount's get) reads as noreturn; an RMW's write depends on its read except for xchg, cmpxchg
and the lock; spin_lock is LKR (an acquire) and LKW, spin_unlock UL (a release); a ghost read
is an acquire, a ghost write a release, and a ghost read and write of one location in one step
an RMW (NOTE(ghost-lkmm) in prove/lkmm.py). What it does not check: that the program makes
these events (the reference interpreter replays that under sequential consistency only).
"""

from __future__ import annotations

from ..lang.diagnostics import NO_SPAN
from ..oracles.litmus_events import Event
from ..oracles.lkmm import Execution, allowed, rcu_sections
from ..prove.verdict import WeakEvent, WeakExecution

# RMWs whose written value is not computed from the value they read (no data dependency inside)
_NO_INNER_DATA = frozenset({"xchg", "cmpxchg", "try_cmpxchg", "atomic_xchg", "atomic_cmpxchg", "atomic_try_cmpxchg",
                            "spin_lock"})
# a refcount builtin's ordering: get is atomic_long_inc, the others fully ordered (docs/lkmm.md)
_REF_ORDER = {"get": "relaxed", "put": "mb", "kill": "mb", "tryget": "mb", "tryget_live": "mb"}


def check_weak_execution(x: WeakExecution) -> str:
    """"" when the LKMM allows the execution `x`; otherwise why not."""
    events: list[Event] = []
    thread: list[int] = []
    initial_write: dict[str, int] = {}
    for name, value in x.initial:
        initial_write[name] = len(events)
        events.append(Event("W", name, value, frozenset({"IW"}), NO_SPAN))
        thread.append(-1)
    threads = list(dict.fromkeys(e.thread for e in x.events))
    read_at: dict[int, int] = {}     # a WeakEvent's index -> its read event
    write_at: dict[int, int] = {}    # ... -> its write event
    rmw: set[tuple[int, int]] = set()
    inner_data: set[tuple[int, int]] = set()

    def add(kind: str, e: WeakEvent, value: int | None, tags: set[str]) -> int:
        events.append(Event(kind, e.loc if kind != "F" else None, value, frozenset(tags), NO_SPAN))
        thread.append(threads.index(e.thread))
        return len(events) - 1

    for i, e in enumerate(x.events):
        if e.kind == "F":
            add("F", e, None, {e.mode})
        elif e.ghost:
            if e.kind == "R":
                read_at[i] = add("R", e, e.read, {"acquire"})
            else:
                write_at[i] = add("W", e, e.written, {"release"})
                prev = i - 1
                if prev in read_at and x.events[prev].ghost and x.events[prev].row == e.row \
                        and x.events[prev].loc == e.loc and x.events[prev].thread == e.thread:
                    rmw.add((read_at[prev], write_at[i]))
                    events[read_at[prev]] = _tagged(events[read_at[prev]], "rmw")
                    events[write_at[i]] = _tagged(events[write_at[i]], "rmw")
        elif e.kind == "R":
            read_at[i] = add("R", e, e.read, {e.mode} if e.mode in ("once", "acquire") else set())
        elif e.kind == "W":
            if e.what == "spin_unlock":
                tags = {"ul", "release"}
            else:
                tags = {e.mode} if e.mode in ("once", "release") else set()
            write_at[i] = add("W", e, e.written, tags)
        else:
            order = _REF_ORDER.get(e.what, "relaxed") if e.mode == "ref" else e.mode
            if e.what == "spin_lock":
                read_at[i] = add("R", e, e.read, {"lkr", "acquire"})
                write_at[i] = add("W", e, e.written, {"lkw"})
                rmw.add((read_at[i], write_at[i]))
                continue
            fenced = order == "mb" and e.wrote
            if fenced:
                add("F", e, None, {"mb"})
            read_at[i] = add("R", e, e.read, {"rmw", "noreturn" if order == "relaxed" else
                                               "acquire" if order == "acquire" else "once"})
            if e.wrote:
                write_at[i] = add("W", e, e.written, {"rmw", "release" if order == "release" else "once"})
                rmw.add((read_at[i], write_at[i]))
                if e.what not in _NO_INNER_DATA:
                    inner_data.add((read_at[i], write_at[i]))
            if fenced:
                add("F", e, None, {"mb"})
    n = len(events)
    po = frozenset((a, b) for a in range(n) for b in range(a + 1, n) if thread[a] == thread[b] != -1)
    deps: dict[str, set[tuple[int, int]]] = {"addr": set(), "data": set(inner_data), "ctrl": set()}
    for kind, r, later in x.deps:
        if r in read_at:
            for target in (read_at.get(later), write_at.get(later)):
                if target is not None:
                    deps[kind].add((read_at[r], target))
    rscs, rcu_flags = rcu_sections(events, thread)
    execution = Execution(events, thread, po, frozenset(rmw), frozenset(deps["addr"]), frozenset(deps["data"]),
                          frozenset(deps["ctrl"]), rscs, rcu_flags)
    rf = set()
    for reader, writer in x.reads_from:
        if reader not in read_at:
            return f"event {reader} reads from a write but makes no read"
        r = read_at[reader]
        w = initial_write.get(events[r].loc or "") if writer < 0 else write_at.get(writer)
        if w is None:
            return f"the read of {events[r].loc} (row {x.events[reader].row}) reads from no write"
        if events[w].loc != events[r].loc or events[w].value != events[r].value:
            return (f"the read of {events[r].loc} (row {x.events[reader].row}) returned {events[r].value}, but the "
                    f"write it reads from wrote {events[w].loc} = {events[w].value}")
        rf.add((w, r))
    unread = [i for i in read_at if i not in {reader for reader, _ in x.reads_from}]
    if unread:
        return f"the read of {x.events[unread[0]].loc} (row {x.events[unread[0]].row}) reads from no write"
    co = set()
    for loc, writes in x.coherence:
        chain = [initial_write[loc]] + [write_at[i] for i in writes]
        co.update((a, b) for k, a in enumerate(chain) for b in chain[k + 1:])
    every_write = {w for w in write_at.values()}
    if every_write - {b for _, b in co}:
        return "a write is missing from its location's coherence order"
    ok, _ = allowed(execution, frozenset(rf), frozenset(co))
    return "" if ok else "linux-kernel.cat does not allow it (the independent evaluator, oracles/lkmm.py)"


def _tagged(e: Event, tag: str) -> Event:
    return Event(e.kind, e.loc, e.value, e.tags | {tag}, e.span)
