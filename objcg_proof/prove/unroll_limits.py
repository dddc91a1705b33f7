"""How large the encoding of an unrolled program will be, before any constraint is built
(NOTE(encode-limit) in prove/unroll.py, where the limits are; docs/semantics.md, "The bound"):
`encoding_pairs` counts the constraint triples per location, `check_encoding_size` refuses a
program over the limit with a user error that names the location with the most.
"""

from __future__ import annotations

import bisect

from ..lang.diagnostics import error
from .events import FINAL, READ, RMW, WRITE, Event, EventProgram

def encoding_pairs(prog: EventProgram) -> dict[int, tuple[int, int, int]]:
    """Location id -> (reads, writes, constraint triples) the encoder will build for it
    (NOTE(encode-limit) in prove/unroll.py). Events of one thread are in program order (step
    position, then sub), as the encoder orders them; a read never reads a write of its own
    thread that comes after it, and for a write w the writes of w's thread before it are never
    between w and a read."""
    writers: dict[int, dict[int, list[tuple[int, int]]]] = {}   # loc -> thread -> sorted (pos, sub)
    reads: dict[int, list[Event]] = {}
    rmw_only: dict[int, bool] = {}
    for ev in prog.events:
        for c in ev.cands:
            if ev.kind in (WRITE, RMW):
                pos = prog.steps[ev.step].pos
                writers.setdefault(c, {}).setdefault(ev.thread, []).append((pos, ev.sub))
                rmw_only[c] = rmw_only.get(c, True) and ev.kind == RMW
            if ev.kind in (READ, RMW, FINAL):
                reads.setdefault(c, []).append(ev)
    out: dict[int, tuple[int, int, int]] = {}
    for c, rs in reads.items():
        by_thread = writers.get(c, {})
        for ws in by_thread.values():
            ws.sort()
        total = sum(len(ws) for ws in by_thread.values())
        pairs = 0
        for r in rs:
            own = by_thread.get(r.thread, []) if r.kind != FINAL else []
            if own:
                # the read's own writes after it (and itself, for an RMW) are not candidates
                later = len(own) - bisect.bisect_left(own, (prog.steps[r.step].pos, r.sub))
            else:
                later = 0
            n = total - later
            if rmw_only.get(c, True):
                pairs += n
                continue
            same = sum(k * (k - 1) // 2 for t, ws in by_thread.items()
                       for k in [len(ws) - later if t == r.thread else len(ws)])
            pairs += n + n * (n - 1) - same
        out[c] = (len(rs), total, pairs)
    return out


def check_encoding_size(prog: EventProgram, max_pairs: int, max_free_iterations: int) -> None:
    """A UserError when the encoding of `prog` would take more than `max_pairs` constraint
    triples (NOTE(encode-limit) in prove/unroll.py), at the first access to the location with most."""
    sizes = encoding_pairs(prog)
    total = sum(p for _, _, p in sizes.values())
    if total <= max_pairs:
        return
    loc = max(sizes, key=lambda c: sizes[c][2])
    r, w, p = sizes[loc]
    name = prog.layout.locations[loc].name
    first = next(ev for ev in prog.events if ev.kind != FINAL and loc in ev.cands)
    raise error(prog.steps[first.step].span,
                f"too large to encode at bound {prog.bound}: location {name} has {r:,} reads and {w:,} writes "
                f"({p:,} constraint pairs; {total:,} for all locations, the limit is {max_pairs:,}); "
                "the encoding grows with reads x writes x writes of one location: "
                "use fewer threads or accesses to it, lower the bound, or give a loop whose condition is "
                f"constantly true a way out (it is unrolled up to {max_free_iterations} times)",
                f"this is the first access to {name}")
