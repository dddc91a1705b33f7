"""Solve stage: ask the solver about each property of one model and turn answers into verdicts.

Input: a model path (or an EventProgram) and options. Output: `verdict.ModelResult`.
For each property: is a violation reachable within the bound? If so, the shortest trace (fewest
steps) is found by bisection on the step count. If not, the verdict is `proved` only when no
execution reaches a loop cut (coverage query), else `bounded`. Any unknown answer stays unknown.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from dataclasses import dataclass
from typing import Callable

from . import encode as encode_mod
from ..lang.diagnostics import Diagnostic, SourceCache, UserError
from ..lang.ir import builtin_properties, property_name
from ..lang.parser import load_model
from ..lang.resolve import resolve
from .decode import ModelView, blocked_threads, cut_loops, decode_trace
from .events import Check, EventProgram
from .held import HeldBack
from . import apart
from . import lkmm as lkmm_axioms
from .solver import OUT_OF_MEMORY, CheckResult, OutOfMemory, Outcome, Session, SolverOptions, memory_exhaustion_raised
from .unroll import unroll
from .unroll_steps import MAX_WAIT_CHOICES
from .verdict import BOUNDED, PROVED, UNKNOWN, VACUOUS, VIOLATED, ModelResult, PropertyResult, Trace, WeakExecution


@dataclass(frozen=True)
class VerifyOptions:
    """What to verify and how: bound and param overrides, solver options, minimisation, --property."""

    bound: int | None = None
    defines: tuple[tuple[str, int], ...] = ()
    solver: SolverOptions = SolverOptions()
    minimize: bool = True
    only: tuple[str, ...] = ()   # property names to check (empty: all)
    memory_model: str | None = None   # sc | lkmm (encode.MEMORY_MODELS); None: the model's declaration (default sc)


@dataclass(frozen=True)
class Property:
    """A property of the model and the check sites that state it."""

    name: str
    kind: str
    checks: tuple[Check, ...]


def properties(prog: EventProgram) -> list[Property]:
    """The properties of a model, in report order: leak (only with a refcounted object), uaf,
    deadlock, then its own checks (`ir.builtin_properties`)."""
    uaf = tuple(c for c in prog.checks if c.kind == "uaf")
    out = [Property(name, name, uaf if name == "uaf" else ()) for name in builtin_properties(prog.layout)]
    named: dict[tuple[str, str], list[Check]] = {key: [] for key in prog.declared}
    for c in prog.checks:
        if c.kind in ("assert", "lost_update"):
            named.setdefault((c.kind, property_name(c.kind, c.label, c.span)), []).append(c)
    out += [Property(name, kind, tuple(cs)) for (kind, name), cs in named.items()]
    return out


def compile_model(path: str, sources: SourceCache, options: VerifyOptions) -> EventProgram:
    module = load_model(path, sources)
    prog = resolve(module, dict(options.defines), options.bound)
    events = unroll(prog)
    if memory_model(events, options) != "sc":
        lkmm_refusals(events)
    return events


def memory_model(prog: EventProgram, options: VerifyOptions) -> str:
    """The memory model a model is verified under: `--memory-model`, else its declaration."""
    return options.memory_model or prog.memory_model


def verify_path(path: str, sources: SourceCache, options: VerifyOptions,
                lkmm_check: ExecutionCheck | None = None) -> ModelResult:
    start = time.perf_counter()
    events = compile_model(path, sources, options)
    return verify_program(events, sources, options, start, lkmm_check)


def verify_program(prog: EventProgram, sources: SourceCache, options: VerifyOptions, start: float | None = None,
                   lkmm_check: ExecutionCheck | None = None) -> ModelResult:
    start = time.perf_counter() if start is None else start
    if memory_model(prog, options) != "sc":
        lkmm_refusals(prog)   # also for a program unrolled by the caller (a mutant)
    checker = ModelChecker(prog, sources, options, lkmm_check)
    results = [checker.check(prop) for prop in checker.selected()]
    return checker.result(results, time.perf_counter() - start)


# NOTE(closure-levels): under the LKMM a design's encoding with exact closures is too large for
# z3 (docs/lkmm.md, section 6: cumul-fence* alone is tens of thousands of pairs, and Warshall's
# algorithm on it millions of clauses). So a model with more than SMALL_SESSION_EVENTS events is
# asked first with every closure bounded to short paths (NOTE(bounded-closures) in prove/lkmm.py),
# a weaker model than the LKMM: what it proves holds under the LKMM. What it finds violated is
# checked on the independent LKMM evaluator (runner/weak_replay.py, given to ModelChecker as
# `lkmm_check`; without one no bounded level's counterexample is kept): an execution the evaluator
# allows is a real counterexample and stands; one it does not is an artefact of the bound, and the
# property is asked again with longer paths, up to the exact encoding, whose answers stand as they
# are (and are replayed too, by runner/batch.py, as every LKMM counterexample is). A bounded
# level's vacuity answer is not checked: a property it reports proved may be vacuous under the
# exact LKMM only if no LKMM execution reaches its checks, which cannot be when a
# sequentially consistent one does (every SC execution is an LKMM execution), as the SC table
# shows for the designs. Small models (the litmus-sized ones) are asked exactly at once.
#
# Before the closure levels comes the sequential level (SEQUENTIAL, NOTE(sequential-level) in
# prove/lkmm.py): the same events restricted to their sequentially consistent executions, with
# no closure built, asked only whether the property is violated, with z3's default pipeline
# and the options' limits, as the SC prover asks (a fixed budget of 80M resource units, about
# 19 s, cut off objcg_v3's leak on the default scenario, which it finds in 157 s at 1.5 GB; on
# the smallest setting it proves an SC-proved property in about 5 s, objcg_v4's leak and uaf). A
# violation there that the evaluator allows stands (a sequentially consistent execution is one
# the LKMM allows); anything else (no violation, unknown, an execution the evaluator rejects)
# says nothing under the LKMM, and the property goes on to level 0. Why: a design's property
# that fails under SC fails under the LKMM, and the closures are most of the cost (v3's leak on
# the smallest setting was `unknown` after 300 s at level 0: docs/lkmm.md, section 6). Its trace
# is the shortest sequentially consistent one, not confirmed shortest among the LKMM's.
#
# After it comes the per-location level (PER_LOCATION, NOTE(per-location-level) in
# prove/lkmm.py): the LKMM's coherence and atomicity axioms alone, a weaker model than the LKMM
# with no closure and no composition across locations, asked as a closure level is: what it
# proves holds under the LKMM, and a violation stands once the evaluator allows it; a violation
# it does not allow, or an unknown, says nothing, and the property goes on to level 0. Why: on
# the smallest setting objcg_v4's `uaf` and `deadlock`, `unknown` after 300 s each at level 0,
# are proved there in 12 s and 10 s (docs/lkmm.md, section 6), and on the default scenario level 0
# does not fit in memory at all.
#
# After that comes the marked level (MARKED, NOTE(marked-level) in prove/lkmm_clocks.py): the
# LKMM's coherence, atomicity, happens-before and propagation axioms, stated with clocks and no
# closure, so again a weaker model than the LKMM (it leaves out the rcu and plain-coherence
# axioms), asked as the per-location level is. Why: on the default scenario the designs'
# properties need ordering across locations (message passing, docs/lkmm.md, section 6), which
# the per-location level does not state and which level 0 has no memory for.
SEQUENTIAL = lkmm_axioms.SEQUENTIAL
PER_LOCATION = lkmm_axioms.PER_LOCATION
MARKED = lkmm_axioms.MARKED
CLOSURE_LEVELS: tuple[int | str | None, ...] = (SEQUENTIAL, PER_LOCATION, MARKED, 0, 1, 2, None)
FIRST_LEVELS = (SEQUENTIAL, PER_LOCATION, MARKED)   # asked of every property before any closure level (NOTE(first-levels))
# what a proof at a first level rests on, as its report says it
_RESTS_ON = {PER_LOCATION: "by the LKMM's coherence and atomicity alone",
             MARKED: "by the LKMM's axioms on marked accesses (coherence, atomicity, happens-before, propagation, part of plain-coherence)"}


def closure_levels(prog: EventProgram, model: str, with_evaluator: bool = True) -> tuple[int | str | None, ...]:
    """The closure levels a model's properties are asked at, in order (NOTE(closure-levels));
    the sequential level only where an evaluator can confirm what it finds."""
    if model != "lkmm" or len(prog.events) <= SMALL_SESSION_EVENTS:
        return (None,)
    return CLOSURE_LEVELS if with_evaluator else tuple(x for x in CLOSURE_LEVELS if x != SEQUENTIAL)


# why the independent LKMM evaluator does not allow a counterexample's execution ("" if it does):
# runner/weak_replay.py's check_weak_execution, passed in by the caller (prove/ imports no runner)
ExecutionCheck = Callable[[WeakExecution], str]


def selected(prop: Property, options: VerifyOptions) -> bool:
    """Whether `options.only` (the names and kinds of --property) lets `prop` be checked."""
    return not options.only or prop.name in options.only or prop.kind in options.only


# NOTE(small-sessions): a query about a fresh solver pays for preprocessing the whole encoding
# again (prove/solver.py); on a model of a few dozen events that is most of the query (8-10 ms
# of a 10 ms query), and one incremental solver, whose base constraints are bit-blasted once,
# answers the same queries in 1-2 ms each after its first. So a model with at most
# SMALL_SESSION_EVENTS events asks every query on its session's incremental solver (push, the
# open frames, check, pop). The designs, with 170 events and more, keep fresh solvers, where
# incremental solving was measured 5x slower (prove/solver.py). The answers are the same; the
# model a SAT answer comes with may differ, so a counterexample may show another of the
# shortest traces (NOTE(obligations) in runner/batch.py).
SMALL_SESSION_EVENTS = 64
APART_EVENTS = 128   # NOTE(first-levels): larger models ask their first levels in child processes


class ModelChecker:
    """One model's encoding and solver session: checks its properties one at a time, in any
    order or subset (verify_program checks all of them in report order; runner/batch.py's workers
    check one each), sharing one coverage query between them."""

    def __init__(self, prog: EventProgram, sources: SourceCache, options: VerifyOptions,
                 lkmm_check: ExecutionCheck | None = None) -> None:
        self.prog, self.sources, self.options = prog, sources, options
        self.lkmm_check = lkmm_check   # NOTE(closure-levels)
        self.memory_model = memory_model(prog, options)
        self.levels = closure_levels(prog, self.memory_model, lkmm_check is not None)
        self._sessions: dict[int | str | None, tuple[encode_mod.Encoding, Session]] = {}
        self._coverages: dict[int | str | None, tuple[CheckResult, str]] = {}
        self._unbuilt: dict[int | str | None, str] = {}   # the levels z3 had no memory for, and why
        self._first: dict[str, PropertyResult | None] | None = None   # NOTE(first-levels)
        self._first_open: dict[tuple[str, str], str] = {}   # (property, first level): why it stayed open there
        self._first_constraints = 0   # the size of the last first level's encoding
        self._built: list[int | str | None] = []
        self.level: int | str | None = None
        self.enc: encode_mod.Encoding | None = None
        if self.levels[0] not in FIRST_LEVELS:   # those are built when first asked (NOTE(first-levels))
            self._use(self.levels[0])

    def _use(self, level: int | str | None) -> bool:
        """Ask from now on the encoding at this closure level (NOTE(closure-levels)), built once;
        False when z3 ran out of memory building it (why in `_unbuilt`: NOTE(memory-limit) in
        prove/solver.py)."""
        if level in self._unbuilt:
            return False
        if level not in self._sessions:
            try:
                if level in FIRST_LEVELS:   # named by the axiom set they state
                    enc = encode_mod.encode(self.prog, self.memory_model, axioms=str(level))
                else:
                    assert not isinstance(level, str)
                    enc = encode_mod.encode(self.prog, self.memory_model, level)
            except (OutOfMemory, encode_mod.LevelTooLarge) as exc:
                self._unbuilt[level] = str(exc)
                return False
            session = Session(self.options.solver, small=len(self.prog.events) <= SMALL_SESSION_EVENTS,
                              bit_blast_only=len(self.levels) > 1 and level != SEQUENTIAL,
                              held=HeldBack(enc.held_back) if enc.held_back else None)
            session.add(enc.base)
            self._sessions[level] = (enc, session)
            self._built.append(level)
        self.level = level
        self.enc, self.session = self._sessions[level]
        return True

    def built(self) -> list[int | str | None]:
        """The levels whose encodings this checker built, in the order they were built (in this
        process: a first level asked apart is not built here, NOTE(first-levels))."""
        return list(self._built)

    def properties(self) -> list[Property]:
        return properties(self.prog)

    def selected(self) -> list[Property]:
        return [prop for prop in self.properties() if selected(prop, self.options)]

    def check(self, prop: Property) -> PropertyResult:
        """The property's verdict, asked at each closure level in turn until one is final
        (NOTE(closure-levels))."""
        t0 = time.perf_counter()
        if any(level in FIRST_LEVELS for level in self.levels):
            found = self._first_answers().get(prop.name)
            if found is not None:
                return found
        for level in self.levels:
            if level in FIRST_LEVELS:
                continue
            result, exhausted = self._ask(level, lambda: self._check_here(prop, t0))
            if result is None:
                # no memory for it: every later level is larger (NOTE(memory-limit))
                return self._with_first_open(self._unknown(prop, exhausted, t0))
            if level is None or result.status != VIOLATED:
                return self._with_first_open(result)
            if self._allowed(result):
                return result
        raise AssertionError("the last closure level is exact")

    def _with_first_open(self, result: PropertyResult) -> PropertyResult:
        """An unknown verdict, with what the first levels could not tell about this property
        (NOTE(first-levels)) in its reason: their own unknowns, a child process that ended."""
        ends = [f"at the {level} level {why}" for (name, level), why in self._first_open.items() if name == result.name]
        if result.status != UNKNOWN or not ends:
            return result
        return dataclasses.replace(result, reason="; ".join([result.reason, *ends]))

    def release(self) -> None:
        """Let every encoding and solver of this checker go (NOTE(memory-limit) in prove/solver.py):
        z3 counts what they hold against its limit until they are collected."""
        self._sessions.clear()
        self._coverages.clear()
        self.enc = None
        self.session = None   # type: ignore[assignment]
        gc.collect()

    def _ask(self, level: int | str | None,
             ask: Callable[[], PropertyResult | None]) -> tuple[PropertyResult | None, str]:
        """`ask()` on the level's encoding: (its answer, ""); (None, why) when z3 had no memory to
        build the level or ran out on the way (the level is then dropped, NOTE(memory-limit))."""
        exhausted = ""
        try:
            with memory_exhaustion_raised():
                if not self._use(level):
                    return None, self._unbuilt[level]
                result = ask()
        except OutOfMemory as exc:
            exhausted = str(exc)
        if exhausted:
            self._drop(level, exhausted)
            return None, exhausted
        if result is not None and result.status == UNKNOWN and result.reason.startswith(OUT_OF_MEMORY):
            self._drop(level, result.reason)   # a solver that ran out leaves z3 holding its memory
        return result, ""

    def _check_here(self, prop: Property, t0: float) -> PropertyResult:
        # a level short of the exact encoding (NOTE(closure-levels)) has only the executions the
        # evaluator allows for counterexamples: each is judged before the search for a shorter one
        allowed = None if self.level is None else self._trace_allowed
        return _check_property(prop, self.enc, self.session, self.sources, self.options, self.prog,
                               self.coverage_result, t0, allowed)

    def _drop(self, level: int | str | None, reason: str) -> None:
        """z3 ran out of memory at this level: its solver is not asked again (z3 may have stopped
        half-way through a frame), and every encoding goes now, so that z3 has its memory back."""
        self.release()
        self._unbuilt[level] = reason

    def _unknown(self, prop: Property, reason: str, t0: float) -> PropertyResult:
        return PropertyResult(prop.name, prop.kind, UNKNOWN, self.prog.bound, time.perf_counter() - t0, "",
                              reason, None, len(prop.checks))

    # NOTE(first-levels): the sequential, per-location and marked levels (FIRST_LEVELS) are asked
    # of every selected property before any closure level is built, the first time one is
    # checked, one level at a time: every property still open at the sequential level, then at
    # the per-location level, then at the marked level, each level's encoding let go before the
    # next is built. A closure level of a large model can exhaust z3's memory (NOTE(memory-limit)
    # in prove/solver.py), and z3 keeps what it took for the rest of the process: measured, once
    # objcg_v5's level 0 had run out on a 400 MiB limit, z3 still counted 472 MiB with every
    # object freed, and the next model's first query ran out at once. Asked property by property,
    # a property after the one that filled it would lose its first levels too (objcg_v2's lost
    # update comes after its leak). One level at a time, each has z3's memory to itself.
    # A model of more than APART_EVENTS events asks each first level in a child process
    # (NOTE(apart) in prove/apart.py): the marked level of a design's default scenario is large
    # enough for z3 to end the process rather than say it ran out, and there that ends only the
    # child. A child that ends before it answered leaves the property it was asking, and the
    # level's remaining ones, open at that level (a new child asks the remaining ones once the
    # level was built), and they go on to the next level, as when z3 has no memory for a level.
    # A property that ends `unknown` says, after the closure level's reason, each first level's
    # own unknown (a timeout, z3 out of memory) and each child that ended while asking it.
    # Each answer's time is the property's own at every first level asked.
    def _first_answers(self) -> dict[str, PropertyResult | None]:
        """Each selected property's answer at the first levels (None: none that stands there)."""
        if self._first is None:
            found: dict[str, PropertyResult] = {}
            spent: dict[str, float] = {}
            for level in self.levels:
                if level not in FIRST_LEVELS:
                    break
                pending = [prop for prop in self.selected() if prop.name not in found]
                if not pending:
                    break
                if len(self.prog.events) > APART_EVENTS and apart.available():
                    found.update(self._first_level_apart(level, pending, spent))
                else:
                    found.update(self._first_level(level, pending, spent, lambda *sent: None))
                    self._let_go(level)
            self._first = {prop.name: found.get(prop.name) for prop in self.selected()}
        return self._first

    def _first_level(self, level: int | str, pending: list[Property], spent: dict[str, float],
                     send: Callable[..., None]) -> dict[str, PropertyResult]:
        """The pending properties' answers that stand at this first level; `send(name, answer,
        spent, why)` after each property asked, answered or not (`why`: its unknown there)."""
        found = {}
        for prop in pending:
            t0 = time.perf_counter() - spent.get(prop.name, 0.0)
            answer, why = self._first_answer(level, prop, t0)
            spent[prop.name] = time.perf_counter() - t0
            send(prop.name, answer, spent[prop.name], why)
            self._first_opened(prop.name, level, why)
            if answer is not None:
                found[prop.name] = answer
        return found

    def _first_opened(self, name: str, level: int | str, why: str) -> None:
        if why:
            self._first_open[(name, str(level))] = f"the answer was unknown: {why}"

    def _first_level_apart(self, level: int | str, pending: list[Property],
                           spent: dict[str, float]) -> dict[str, PropertyResult]:
        """_first_level in child processes (NOTE(apart)): a child that ends before it answered
        leaves the property it was asking open at this level, and a new one asks the rest."""
        found: dict[str, PropertyResult] = {}
        while pending:
            def work(send: Callable[[object], None], pending: list[Property] = pending) -> None:
                if self._use(level):
                    send((None, len(self.enc.base) if self.enc is not None else 0))   # built
                self._first_level(level, pending, dict(spent), lambda *answer: send(answer))

            started = time.perf_counter()
            sent, ended = apart.run_apart(work)
            built, answered = False, 0.0
            for item in sent:
                if item[0] is None:
                    built, self._first_constraints = True, item[1]
                    continue
                name, answer, took, why = item
                self._first_opened(name, level, why)
                answered += took - spent.get(name, 0.0)
                spent[name] = took
                if answer is not None:
                    found[name] = answer
            asked = {item[0] for item in sent if item[0] is not None}
            if not ended.killed:
                break
            # the property it was asking when it ended: open at this level, the rest of the
            # child's time its own
            stopped = next((prop for prop in pending if prop.name not in asked), None)
            if stopped is None:
                break
            spent[stopped.name] = spent.get(stopped.name, 0.0) + time.perf_counter() - started - answered
            for prop in (stopped,) if built else pending:
                self._first_open[(prop.name, str(level))] = \
                    f"its process ended before it answered ({ended.how}{'' if built else ', building the level'})"
            pending = [prop for prop in pending if prop.name not in asked and prop is not stopped] if built else []
        return found

    def _first_answer(self, level: int | str, prop: Property, t0: float) -> tuple[PropertyResult | None, str]:
        """The property's answer at this first level: at the sequential level a violation the
        evaluator allows, at the per-location or marked level a proof, or a violation the
        evaluator allows; None when it gives none, which says nothing (NOTE(closure-levels)).
        With it, why the level could not tell, at the per-location and marked levels ("" if it
        could, or found an execution the evaluator refuses)."""
        if level == SEQUENTIAL:
            found, _ = self._ask(level, lambda: self._sequential_violation(prop, t0))
            return (found if found is not None and self._allowed(found) else None), ""
        result, exhausted = self._ask(level, lambda: self._check_here(prop, t0))
        if result is None:
            return None, exhausted   # no memory for it: the closure levels may still say why
        if result.status == VIOLATED:
            return (result if self._allowed(result) else None), ""
        if result.status in (PROVED, BOUNDED):
            # what a reviewer learns: which of the LKMM's axioms it needs
            return dataclasses.replace(result, coverage=f"{result.coverage}, {_RESTS_ON[level]}"), ""
        if result.status != UNKNOWN:
            return result, ""
        return None, result.reason

    def _let_go(self, level: int | str | None) -> None:
        """Let this level's encoding and solver go (NOTE(first-levels))."""
        if level in self._sessions:
            enc, _ = self._sessions.pop(level)
            self._first_constraints = len(enc.base)
            self._coverages.pop(level, None)
            if self.level == level:
                self.enc, self.session, self.level = None, None, None   # type: ignore[assignment]
            del enc
            gc.collect()

    def _allowed(self, result: PropertyResult) -> bool:
        """Whether the independent LKMM evaluator allows the counterexample's execution."""
        return result.trace is not None and self._trace_allowed(result.trace)

    def _trace_allowed(self, trace: Trace) -> bool:
        """Whether the independent LKMM evaluator allows the trace's execution."""
        return self.lkmm_check is not None and trace.execution is not None and not self.lkmm_check(trace.execution)

    def _sequential_violation(self, prop: Property, t0: float) -> PropertyResult | None:
        """The property's violation by a sequentially consistent execution, if the solver finds one;
        None otherwise, which says nothing (NOTE(closure-levels))."""
        with self.session.frame():
            self.session.add(_violation_formula(prop, self.enc))
            answer = self.session.check()
            if answer.outcome != Outcome.SAT:
                return None
            result = _violated(prop, self.enc, self.session, self.sources, self.options, answer, t0,
                               self._trace_allowed)
        assert result.trace is not None
        # what each read saw and the coherence orders stay; the accesses "nothing orders" go: a
        # barrier cannot forbid an execution that is sequentially consistent
        seen = tuple(line for line in result.trace.memory_order if not line.startswith("nothing orders "))
        trace = dataclasses.replace(result.trace, shortest=False, sequential=True, memory_order=seen)
        return dataclasses.replace(result, trace=trace,
                                   coverage=f"{result.coverage}, by a sequentially consistent execution")

    def coverage_result(self) -> tuple[CheckResult, str]:
        """Whether some execution goes past the bound (asked once per closure level), and that in words."""
        if self.level not in self._coverages:
            prog, enc, session = self.prog, self.enc, self.session
            with session.frame():
                session.add(enc.coverage_gap())
                coverage = session.check()
            if coverage.outcome == Outcome.UNSAT:
                words = f"the bound {prog.bound} covered every execution"
            elif coverage.outcome == Outcome.SAT:
                assert coverage.model is not None
                words = f"executions go on past the bound {prog.bound} in " + self._every_cut_loop(coverage.model)
            else:
                words = f"could not tell whether the bound {prog.bound} covered every execution: {coverage.reason}"
            self._coverages[self.level] = (coverage, words)
        return self._coverages[self.level]

    def _every_cut_loop(self, first) -> str:  # type: ignore[no-untyped-def]
        """Every loop some execution runs past the bound, in a stable order (one query for each
        further loop, and a last one that finds none), so the words do not depend on which
        execution the solver happened to find first."""
        prog, enc, session = self.prog, self.enc, self.session
        loops = cut_loops(ModelView(enc, first))
        complete = True
        while True:
            with session.frame():
                session.add(enc.coverage_gap(frozenset(loops)))
                more = session.check()
            if more.outcome != Outcome.SAT:
                complete = more.outcome == Outcome.UNSAT
                break
            assert more.model is not None
            found = cut_loops(ModelView(enc, more.model)) - loops
            assert found, "a coverage gap outside the skipped loops names a new loop"
            loops |= found
        names = [f"{file}:{line} (thread {prog.threads[t].name})" for t, file, line in
                 sorted(loops, key=lambda x: (x[1], x[2], x[0]))]
        words = ("the loop at " if len(names) == 1 else "the loops at ") + ", ".join(names)
        # a loop that looks like a wait but is no spin loop: say why (docs/semantics.md, "Spin loops")
        cut = {(file, line) for _, file, line in loops}
        hints = [f"{file}:{line} is not a spin loop: {why}" for file, line, why in sorted(prog.wait_loops)
                 if (file, line) in cut]
        words += "".join(f"; {hint}" for hint in hints)
        return words if complete else words + " (and maybe others: the solver gave up looking)"

    def stats(self) -> dict[str, int]:
        prog = self.prog
        return {"threads": len(prog.threads), "steps": len([s for s in prog.steps if not s.is_cut]),
                "events": len(prog.events), "cuts": len([s for s in prog.steps if s.is_cut]),
                "constraints": len(self.enc.base) if self.enc is not None else self._first_constraints}

    def result(self, results: list[PropertyResult], time_s: float) -> ModelResult:
        return ModelResult(self.prog.path, self.prog.bound, (), tuple(results), time_s, self.stats(),
                           memory_model(self.prog, self.options))


# NOTE(lkmm-models): under the LKMM (`--memory-model lkmm`) every event of a step is its own LKMM
# event, so a step is no longer atomic: an `atomic { }` block that makes more than one shared
# access (ghosts aside) has no kernel counterpart and is refused, naming the block, rather than
# silently split (docs/lkmm.md, section 1). Ghost variables are bookkeeping: a ghost read is an
# acquire, a ghost write a release, and a ghost read and write of one location in one step an
# atomic RMW (NOTE(ghost-lkmm) in prove/lkmm.py); an access that may reach a ghost and a real
# location alike has neither meaning and is refused. A counterexample is an LKMM execution:
# prove/decode.py shows its steps in one order consistent with each thread's program order, and
# the reference interpreter, which runs sequential consistency, does not replay it
# (runner/batch.py says so on the trace).
def lkmm_refusals(prog: EventProgram) -> None:
    """Raise a UserError for what the LKMM encoding does not take yet (NOTE(lkmm-models))."""
    locations = prog.layout.locations
    found = []
    for st in prog.steps:
        evs = [prog.events[e] for e in st.events]
        real = [ev for ev in evs if not all(locations[c].ghost for c in ev.cands)]
        if any(any(locations[c].ghost for c in ev.cands) for ev in real):
            found.append(Diagnostic(st.span, "an access that may reach a ghost variable or a real location: under "
                                             "the LKMM a ghost access is a release or acquire of its own, a real "
                                             "one is what the C says; split them"))
        elif len(real) > 1:
            found.append(Diagnostic(st.span, f"this step makes {len(real)} shared accesses: under the LKMM an "
                                             "atomic block has no kernel counterpart; write the C's own "
                                             "synchronisation (a lock, an RMW) instead"))
    if found:
        unique = list({(d.span.file, d.span.line, d.span.column, d.message): d for d in found}.values())
        raise UserError(unique[:MAX_REFUSALS_SHOWN])


MAX_REFUSALS_SHOWN = 10


def _violation_formula(prop: Property, enc: encode_mod.Encoding):  # type: ignore[no-untyped-def]
    if prop.kind == "leak":
        return enc.leak()
    if prop.kind == "deadlock":
        return enc.deadlock(exact_only=True)   # NOTE(wide-wait)
    return enc.violation(list(prop.checks))


# NOTE(wide-wait): a thread is blocked at a wait when no choice of the nondets in its condition
# makes it true (docs/semantics.md, "deadlock"). The unroller tries every choice when they
# combine to at most 256; beyond that the choices stay free in the wait's condition on the final
# memory (`Step.wait_exact` is False), and the solver could pick the one value that keeps the
# wait false. So a deadlock is looked for in two queries: first with threads blocked only at
# exact waits (a model of it is a real deadlock, shown with its trace); when there is none, with
# every wait: none there either is `proved`, as before; one there may be spurious, so the verdict
# is `unknown`, naming the waits, never a counterexample the reference interpreter would refuse.
def _wide_waits(prog: EventProgram) -> str:
    """The waits whose condition on the final memory is not exact, as `file:line` words."""
    spans = sorted({(st.span.file, st.span.line) for st in prog.steps if st.enabled_final is not None and not st.wait_exact})
    return ", ".join(f"{f}:{line}" for f, line in spans)


def _check_property(prop: Property, enc: encode_mod.Encoding, session: Session, sources: SourceCache,  # type: ignore[no-untyped-def]
                    options: VerifyOptions, prog: EventProgram, coverage_result, t0: float,
                    allowed: Callable[[Trace], bool] | None = None) -> PropertyResult:
    """The property's verdict on this encoding; `allowed`, when given, judges each counterexample
    before a shorter one is looked for (NOTE(allowed-first))."""
    bound = prog.bound
    parts = _parts(prop)
    with session.frame():
        session.add(_violation_formula(prop, enc))
        answer = session.check(budget=SPLIT_BUDGET if len(parts) > 1 else 0)
        if answer.outcome == Outcome.SAT:
            return _violated(prop, enc, session, sources, options, answer, t0, allowed)
    if answer.outcome == Outcome.UNKNOWN and len(parts) > 1:
        answer = _check_parts(parts, enc, session)
        if answer.outcome == Outcome.SAT:
            with session.frame():
                session.add(_violation_formula(prop, enc))
                return _violated(prop, enc, session, sources, options, answer, t0, allowed)
    if answer.outcome == Outcome.UNKNOWN:
        return PropertyResult(prop.name, prop.kind, UNKNOWN, bound, time.perf_counter() - t0, "",
                              answer.reason, None, len(prop.checks))
    wide = _wide_waits(prog) if prop.kind == "deadlock" else ""
    if wide:
        with session.frame():
            session.add(enc.deadlock())
            answer = session.check()
        if answer.outcome != Outcome.UNSAT:
            reason = answer.reason if answer.outcome == Outcome.UNKNOWN else (
                f"a deadlock may rest on the wait at {wide}, whose nondet() choices are too many to try "
                f"one by one (more than {MAX_WAIT_CHOICES}); no deadlock rests on any other wait")
            return PropertyResult(prop.name, prop.kind, UNKNOWN, bound, time.perf_counter() - t0, "",
                                  reason, None, len(prop.checks))
    vacuity = _vacuity(prop, enc, session, bound)
    if vacuity is not None:
        status, words = vacuity
        return PropertyResult(prop.name, prop.kind, status, bound, time.perf_counter() - t0,
                              words if status == VACUOUS else "", "" if status == VACUOUS else words,
                              None, len(prop.checks))
    cov, words = coverage_result()
    if cov.outcome == Outcome.UNSAT:
        status, reason = PROVED, ""
    elif cov.outcome == Outcome.SAT:
        status, reason = BOUNDED, ""
    else:
        status, reason = UNKNOWN, cov.reason
    return PropertyResult(prop.name, prop.kind, status, bound, time.perf_counter() - t0, words, reason, None, len(prop.checks))


def _violated(prop: Property, enc: encode_mod.Encoding, session: Session, sources: SourceCache,
              options: VerifyOptions, answer: CheckResult, t0: float,
              allowed: Callable[[Trace], bool] | None = None) -> PropertyResult:
    """The verdict of a property found violated; the open frames hold its violation formula."""
    trace = _shortest_trace(prop, enc, session, sources, options, answer, allowed)
    bound = enc.program.bound
    return PropertyResult(prop.name, prop.kind, VIOLATED, bound, time.perf_counter() - t0,
                          f"violated within the bound {bound}", "", trace, len(prop.checks))


# NOTE(split-checks): a property checked at many sites (uaf: every pointer, index and refcount
# operation of every thread) is violated when some site fails, so its violation formula is the
# disjunction of one formula per part: the sites of one thread (the final block's are a part of
# their own). It is first asked whole, as every other query, but under a budget of SPLIT_BUDGET
# z3 resource units (deterministic, unlike time: 10-15 s of this machine's solving). A query
# still open there is asked again part by part, each under the options' own limits: a part
# violated is a violation (its model is one of the whole formula's; the shortest trace is then
# looked for on the whole formula, as always); every part unsat is unsat, which is what the
# whole query would have said. The first part the solver cannot decide makes the property
# unknown, naming the part, without asking the rest (a property's time is bounded by the
# budget, the parts that were decided and one timeout). Why: the proof that no site fails is a
# counting argument over reference counts that a SAT solver finds hard, and it is easier for
# one thread at a time (objcg_v4's uaf on the full scenario: the whole query 175-199 s of CPU,
# the seven parts 119-131 s in all, measured on this machine). Finer parts cost more: each
# query preprocesses the whole encoding again (~3 s on the full scenario), whatever it asks.
# Below the budget nothing changes: the narrow designs' queries all end well within it (the
# longest, objcg_v4's uaf, at ~60M units), so their traces stay what they were.
SPLIT_BUDGET = 80_000_000


def _parts(prop: Property) -> list[list[Check]]:
    """The property's check sites in parts, one per thread (NOTE(split-checks)); one part for a
    property that is not checked at sites."""
    if prop.kind not in ("uaf", "assert", "lost_update"):
        return [list(prop.checks)]
    parts: dict[int, list[Check]] = {}
    for c in prop.checks:
        parts.setdefault(c.thread, []).append(c)
    return list(parts.values())


def _check_parts(parts: list[list[Check]], enc: encode_mod.Encoding, session: Session) -> CheckResult:
    """The violation of the property asked one part at a time (NOTE(split-checks))."""
    for checks in parts:
        with session.frame():
            session.add(enc.violation(checks))
            answer = session.check()
        if answer.outcome == Outcome.UNKNOWN:
            thread = checks[0].thread
            where = f"thread {enc.program.threads[thread].name}" if thread >= 0 else "the final block"
            return CheckResult(Outcome.UNKNOWN, f"{answer.reason}, on the checks of {where} (the whole property "
                                                f"was undecided, so it was asked one thread at a time: NOTE(split-checks))")
        if answer.outcome == Outcome.SAT:
            return answer
    return CheckResult(Outcome.UNSAT)


def _vacuity(prop: Property, enc: encode_mod.Encoding, session: Session, bound: int) -> tuple[str, str] | None:
    """(VACUOUS, why) when the property held only because nothing was checked; (UNKNOWN, why)
    when the solver could not tell; None when some execution does reach the check."""
    if prop.kind in ("assert", "lost_update") and not prop.checks:
        return VACUOUS, f"vacuous: no check of it is reachable within the bound {bound}"
    if prop.kind == "uaf" and not prop.checks:
        return None   # no pointer, index or refcount operation: nothing can be misused
    with session.frame():
        if prop.kind in ("assert", "lost_update", "uaf"):
            session.add(enc.reachable(list(prop.checks)))
            why = f"vacuous: no check of it is reachable within the bound {bound}"
            if all(c.thread < 0 for c in prop.checks):   # the final block's: checked once every thread finished
                why = f"vacuous: no execution finishes every thread within the bound {bound}"
        elif prop.kind == "leak":
            session.add(enc.all_finished())
            why = f"vacuous: no execution finishes every thread within the bound {bound}"
        else:
            return None   # deadlock: a thread stopped by a false assume is neither finished nor blocked
        answer = session.check()
    if answer.outcome == Outcome.SAT:
        return None
    if answer.outcome == Outcome.UNKNOWN:
        return UNKNOWN, f"could not tell whether the property is vacuous: {answer.reason}"
    return VACUOUS, why


# NOTE(allowed-first): at a level short of the exact LKMM encoding (the per-location and marked
# levels, the closure levels before the last: NOTE(closure-levels)), a counterexample stands only
# if the independent evaluator allows its execution. The first one the solver gives is judged
# before any shorter one is looked for: one the evaluator refuses ends the level's answer there,
# rather than after the bisection's queries, each up to --timeout (on objcg_v5's default
# scenario the per-location level's executions are refused, and each of its queries takes
# minutes). In the bisection, a shorter execution the evaluator refuses ends the search with the
# shortest allowed one found, not claimed shortest: an allowed one of that length may exist.
def _shortest_trace(prop: Property, enc: encode_mod.Encoding, session: Session, sources: SourceCache,
                    options: VerifyOptions, first: CheckResult,
                    allowed: Callable[[Trace], bool] | None = None) -> Trace:
    """The counterexample of the first answer, as short as the bisection finds; with `allowed`,
    the first answer's own when it is refused, else the shortest one allowed (NOTE(allowed-first))."""
    assert first.model is not None
    best = ModelView(enc, first.model)
    if allowed is not None:
        trace = _describe(prop, best, sources, False)
        if not allowed(trace):
            return trace   # refused: the caller's judgement of it says so
    shortest = options.minimize   # a trace not minimised is not claimed shortest
    if options.minimize:
        # bisection on the step count, on the session's incremental solver (prove/solver.py): each
        # query is the open frames (the violation) under the assumption "at most mid steps"
        lo, hi = 0, best.step_count()
        with session.incremental() as inc:
            inc.add(enc.step_counter(hi))
            while lo < hi:
                mid = (lo + hi) // 2
                answer = inc.check([enc.at_most_steps(mid)])
                if answer.outcome == Outcome.SAT:
                    assert answer.model is not None
                    view = ModelView(enc, answer.model)
                    if allowed is not None and not allowed(_describe(prop, view, sources, False)):
                        shortest = False
                        break
                    best = view
                    hi = best.step_count()
                elif answer.outcome == Outcome.UNSAT:
                    lo = mid + 1
                else:
                    shortest = False
                    break
    return _describe(prop, best, sources, shortest)


def _source_text(sources: SourceCache, file: str, line: int) -> str:
    text = sources.line(file, line) or ""
    cut = text.find("//")
    return " ".join((text[:cut] if cut >= 0 else text).split())


def _describe(prop: Property, view: ModelView, sources: SourceCache, shortest: bool) -> Trace:
    file, line, thread = "", 0, ""
    if prop.kind == "leak":
        words = ("leak: at the end of the run a refcounted object still holds a reference" if not view.prog.holds
                 else "leak: at the end of the run a refcounted object's count is not the references the final block holds")
        trace = decode_trace(view, sources, words, leak=True)
    elif prop.kind == "deadlock":
        words = "deadlock: every unfinished thread is blocked: " + "; ".join(blocked_threads(view))
        trace = decode_trace(view, sources, words)
    else:
        failed = [c for c in prop.checks if view.true(view.enc.reached(c)) and not view.value(c.cond)]
        c = failed[0] if failed else prop.checks[0]
        file, line = c.span.file, c.span.line
        thread = view.prog.threads[c.thread].name if c.thread >= 0 else ""
        if not thread:
            words = f"{c.message}, checked by the final block at {file}:{line}"
        elif prop.kind == "uaf":
            words = f"uaf: {c.message} in thread {thread} at {file}:{line}"
        elif prop.kind == "lost_update":
            stated = _source_text(sources, file, line)
            if c.span.end_line > line:   # a statement of several lines: its first, and a mark that it goes on
                stated += f" ... (to line {c.span.end_line})"
            words = f"lost update ({prop.name}) in thread {thread} at {file}:{line}: the model's statement does not hold: {stated}"
        else:
            words = f"{c.message} in thread {thread} at {file}:{line}"
        trace = decode_trace(view, sources, words, file, line)
    thread = "" if prop.kind in ("leak", "deadlock") else thread
    return Trace(trace.steps, trace.violation, trace.file or file, trace.line or line, shortest,
                 memory_order=trace.memory_order, graph=trace.graph, execution=trace.execution, thread=thread,
                 focus=trace.focus)
