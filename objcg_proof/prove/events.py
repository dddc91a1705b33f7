"""The unrolled program: per thread, a sequence of atomic steps made of shared-memory events.

Produced by prove/unroll.py, consumed by prove/encode.py (and by prove/decode.py to explain a model).
NOTE(positions): each thread's steps have positions 0..n-1 in program order along every path;
an execution runs a prefix of each thread (its first `stop` positions, skipping steps whose
guard is false). A cut step (the loop bound was reached) can never run: a thread that reaches
it stops there, and the verdict says the bound did not cover that execution.

NOTE(fence-events): a fence statement makes no step, and its F event is not in `events` (so
sequential consistency, which ignores fences, encodes exactly what it did before fences were
events) but in `EventProgram.fences`, numbered on their own. A fence in an atomic block sits in
its step, before the event numbered `sub` (after the `sub` events before it). Any other fence
rides with the thread's next step, before its events (`sub` 0), guarded by the fence's path
guard less the guards of the steps it already rode with (a fence in one branch of an `if`
rides with the first step after it on its own path, and with no step of the other path). A
fence after the thread's last step (an rcu_read_unlock() that ends the thread) has step -1: it
comes after every step, and happens when the thread ran to its end.

NOTE(failed-access): a failed access (an out-of-bounds index of a shared or object array, an
invalid pointer in `p->f` or in a refcount builtin; docs/semantics.md, "Failed accesses") ends
its step's evaluation there: what the step did before it happens, nothing after it does (its
later events, checks, waits and assumes are guarded by the access being valid), and the step
runs whatever its later waits and assumes would say. `Step.fails` says when the step fails;
the thread then stops for good, as at a cut: the encoder lets it run no later position, counts
it neither finished nor blocked, and a check between steps right after it is not reached.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..lang.diagnostics import Span
from ..lang.ir import Layout
from .terms import FALSE, TRUE, Sym, Term

# Event kinds. R reads, W writes, RMW reads and writes atomically; FINAL reads a location's
# value after every thread has stopped (for leak and deadlock checks); F is a fence (its `mode`
# the LKMM tag: mb, rmb, wmb, rcu-lock ...), which only the LKMM reads (NOTE(fence-events)).
READ, WRITE, RMW, FINAL, FENCE = "R", "W", "RMW", "FINAL", "F"


@dataclass(frozen=True, eq=False)
class Event:
    """One memory event of an unrolled step: a read, a write, a read-modify-write or a final read."""

    id: int
    thread: int
    step: int                 # id of the step it belongs to (-1 for FINAL)
    sub: int                  # order inside the step
    kind: str
    loc: Term                 # location id (a word term; constant when statically known)
    cands: tuple[int, ...]    # every location the event may touch
    read: Sym | None          # the value read (R, RMW, FINAL)
    write: Term | None        # the value written (W, RMW); may mention `read`
    guard: Term               # the event happens iff its step runs and this holds
    mode: str                 # plain | once | mb | relaxed | acquire | release | ref; a fence's tag
    what: str                 # short description for traces: "xchg", "get", "read"
    succeeds: Term = TRUE     # an RMW writes only when this holds (a cmpxchg that fails only reads)
    ctrl: tuple[Sym, ...] = ()  # the reads a branch before it in its thread tested (control dependencies)
    span: Span | None = None  # a fence's statement (the other events are located by their step)
    origin: Term = TRUE       # a fence's path guard at its statement, the same for every step it rides with
    instance: int = -1        # a fence's statement as unrolled (its copies riding with several steps share it)


@dataclass(frozen=True, eq=False)
class Assignment:
    """A local variable a step sets, for the trace's `changes` column."""

    name: str
    value: Term
    pointer: bool
    live: Term = TRUE         # no failed access came before it in its step (NOTE(failed-access))
    chosen_at: int = 0        # a nondet() choice made by a statement that touched no memory: its line (NOTE(nondet-choices))


@dataclass(frozen=True, eq=False)
class Step:
    """One atomic step of a thread in the unrolled program: its events, guard and wait condition."""

    id: int
    thread: int
    pos: int
    guard: Term               # the path reaches this step and it makes a shared access
    events: tuple[int, ...]
    span: Span
    enabled: Term | None      # await / spin_lock: the step can only run when this holds
    enabled_final: Term | None  # the same condition on the final memory (blocked forever?)
    is_cut: bool = False
    assigns: tuple[Assignment, ...] = ()
    fails: Term = FALSE       # when the step fails an access: the thread stops after it (NOTE(failed-access))
    wait_exact: bool = True   # enabled_final tries every nondet choice; when False the deadlock rule over-approximates (NOTE(wide-wait) in prove/verify.py)


# Check kinds: assert, lost_update, uaf (use-after-free, bad pointer), assume (a constraint).
# A check of the `final` block has `thread` -1 (prove/unroll_final.py): it is reached when every
# thread finished, and its condition reads FINAL events only.
@dataclass(frozen=True, eq=False)
class Check:
    """One check site of the unrolled program: an assert, a lost_update check or a built-in check."""

    id: int
    kind: str
    label: str
    thread: int
    guard: Term               # reached iff (its step runs, or the thread ran past `pos`) and this holds
    cond: Term                # must hold when reached
    step: int | None          # the step it belongs to, or None for a check between steps
    pos: int                  # for a check between steps: the position of the next step
    span: Span
    message: str


@dataclass(frozen=True, eq=False)
class SpinWait:
    """A spin loop, reduced to one iteration (docs/semantics.md, "Spin loops"): a thread that
    stopped at `pos` (the loop's entry: its iteration's steps come from `pos` on) waits there
    forever when `goes_round` holds: one iteration on the final memory goes round again,
    reaching no failed access (its reads replaced by FINAL events)."""

    thread: int
    pos: int
    goes_round: Term
    span: Span


@dataclass(frozen=True)
class ThreadSteps:
    """One thread of the unrolled program: its steps in program order."""

    index: int
    name: str
    positions: int            # number of positions (steps, cuts included)
    steps: tuple[int, ...]


@dataclass(frozen=True)
class EventProgram:
    """A model unrolled to its bound: threads, steps, events and checks, input to the encoder."""

    path: str
    layout: Layout
    bound: int
    threads: tuple[ThreadSteps, ...]
    steps: tuple[Step, ...]
    events: tuple[Event, ...]
    checks: tuple[Check, ...]
    refcount_finals: tuple[tuple[int, int], ...]   # (object index, FINAL event id)
    nondets: tuple[tuple[str, int | None], ...]    # symbol name, limit
    width: int
    declared: tuple[tuple[str, str], ...] = ()      # (kind, name) of every assert/lost_update property
    holds: tuple[Term, ...] = ()                    # the final block's held pointers, on the final memory (leak)
    spins: tuple[SpinWait, ...] = ()                # the spin loops each thread entered, for deadlock
    wait_loops: tuple[tuple[str, int, str], ...] = ()
    fences: tuple[Event, ...] = ()                  # the fence events, for the LKMM (NOTE(fence-events))
    memory_model: str = "sc"                        # the model's `memory_model` declaration   # (file, line, why not) of a cut loop that looks like a wait but is no spin loop
