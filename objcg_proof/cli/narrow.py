"""A counterexample narrowed to the steps that matter for its violation (`--full-trace` shows all).

NOTE(narrow-traces): a counterexample is a whole execution up to its violation, and much of it
can be other threads going about their business: in a leak, every thread runs to its end. The
text report shows only the steps the violation can depend on; the rest are counted in one line
that names their threads. Which steps those are, from what each step read and wrote (the
location names decode.py records with every step):

- the thread whose check failed keeps every step (its own path leads to the failure); a leak
  starts from the refcounts that end wrong instead, and a deadlock or a check of the final
  block keeps everything (every thread's end is part of it);
- every read of a kept step (and, for a leak, each such refcount at the end) returned what the
  last write to that location before it wrote (sequential consistency): that write's step is
  kept, and so is every earlier step of its thread: its path and its locals, which decide what
  it wrote, came from them (prefix closure, so nothing is cut out of the middle of a thread).
  The reads of the steps kept so are followed in turn, until nothing changes.

So no hidden step wrote a value that a kept step read, and each comes after its thread's last
step that did: the kept steps read the same values whatever the hidden ones did. It is a
display of the same trace, not another execution: rows keep their numbers, and JSON, SARIF and
JUnit outputs keep every step. A weak-memory (LKMM) trace is never narrowed: its rows are in
no one order, and its reads-from and coherence lines refer to every row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..prove.verdict import Trace, TraceStep


@dataclass(frozen=True)
class Narrowed:
    """The rows to show, and what was hidden: (thread, how many steps) in order of first row."""

    rows: tuple[TraceStep, ...]
    hidden: tuple[tuple[str, int], ...]

    def hidden_line(self) -> str:
        """One line saying what is not shown, or "" when nothing is hidden."""
        if not self.hidden:
            return ""
        total = sum(n for _, n in self.hidden)
        who = ", ".join(f"{n} of {thread}" for thread, n in self.hidden)
        return (f"  ({total} step{'s' if total != 1 else ''} not shown ({who}): no value the steps above read "
                "comes from them; --full-trace shows every step)")


def narrow(trace: Trace, is_leak: bool) -> Narrowed:
    """The steps of `trace` its violation can depend on (NOTE(narrow-traces))."""
    steps = trace.steps
    everything = Narrowed(steps, ())
    if trace.execution is not None or not steps or not (trace.thread or (is_leak and trace.focus)):
        return everything
    by_thread: dict[str, list[int]] = {}
    for i, s in enumerate(steps):
        by_thread.setdefault(s.thread, []).append(i)
    kept_upto = {t: -1 for t in by_thread}   # per thread: its kept steps are its first kept_upto + 1
    needed: set[tuple[str, int]] = {(loc, len(steps)) for loc in trace.focus}   # (location, row that reads it)
    if trace.thread in by_thread:
        kept_upto[trace.thread] = len(by_thread[trace.thread]) - 1
    position = {k: j for rows in by_thread.values() for j, k in enumerate(rows)}
    while True:
        for loc, reader in needed:
            writer = next((i for i in range(reader - 1, -1, -1) if loc in steps[i].writes), None)
            if writer is not None:   # the write that read returned (sequential consistency: the last one before it)
                t = steps[writer].thread
                kept_upto[t] = max(kept_upto[t], position[writer])
        reads = {(loc, k) for t, rows in by_thread.items() for k in rows[: kept_upto[t] + 1] for loc in steps[k].reads}
        if reads <= needed:
            break
        needed |= reads
    kept = {k for t, rows in by_thread.items() for k in rows[: kept_upto[t] + 1]}
    if len(kept) == len(steps):
        return everything
    hidden: dict[str, int] = {}
    for i, s in enumerate(steps):
        if i not in kept:
            hidden[s.thread] = hidden.get(s.thread, 0) + 1
    return Narrowed(tuple(s for i, s in enumerate(steps) if i in kept), tuple(hidden.items()))
