"""Differential testing: the z3 engine against the reference interpreter on random models.

`gen_models.models()` draws small models (docs/dsl.md constructs, 8-bit words, bound 2); each is
checked by `verify_path` (z3) and by `interpret.explore` (explicit state, every execution,
unbounded), and the verdicts must agree per property by the rules below. The run is
derandomized: the same 1,000 models every time, so a failure reproduces; the failing model's
text is printed (shrunk by hypothesis). A disagreement is a bug in one engine: reduce it, decide
from docs/semantics.md which engine is wrong, and keep it in test_differential_regressions.py.

A wider run, outside CI: `OBJCG_DIFF_SEED=777 OBJCG_DIFF_EXAMPLES=3000 pytest -s
tests/oracles/test_differential.py` draws other models (hypothesis seeded with that number, not
derandomized), goes on after a disagreement and fails at the end listing every one (the
models are not shrunk; each is written to the test's temporary directory).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, note, seed, settings

import gen_models
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.ir import Program
from objcg_proof.lang.parser import load_model
from objcg_proof.lang.resolve import resolve
from objcg_proof.oracles.interpret import explore, replay
from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verdict import BOUNDED, PROVED, UNKNOWN, VACUOUS, VIOLATED
from objcg_proof.prove.verify import VerifyOptions, verify_path

EXAMPLES = int(os.environ.get("OBJCG_DIFF_EXAMPLES", "1000"))
SEED = os.environ.get("OBJCG_DIFF_SEED")   # a wider run: these models instead of the CI's
MAX_STATES = 50_000          # the interpreter gives up (incomplete: the model is skipped) beyond
SOLVER = SolverOptions(timeout_s=5)
MAX_SKIP_RATE = 0.01


@dataclass
class Outcome:
    skipped: str = ""                                  # why the model was not compared
    problems: list[str] = field(default_factory=list)  # disagreements
    z3: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    interp: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    compared: list[str] = field(default_factory=list)  # the properties compared (all, rule (a))

    def describe(self) -> str:
        rows = [f"  {name:<10} z3 {status:<9}{'' if n is None else f' ({n} steps)':<12}  interpreter "
                f"{self.interp.get(name, ('-', None))[0]}"
                f"{'' if self.interp.get(name, ('', None))[1] is None else ' (%d steps)' % self.interp[name][1]}"
                for name, (status, n) in self.z3.items()]
        return "\n".join(rows + [f"  PROBLEM: {p}" for p in self.problems])


def compare(path: str) -> Outcome:
    """Run both engines on the model file at `path` and compare their verdicts.

    The rules follow from docs/semantics.md:
    (a) every property is compared, after a `uaf` too: a failed access (a NULL/invalid
        dereference, an out-of-bounds index) stops its thread in both engines ("Failed
        accesses"), so nothing after it is left unspecified;
    (b) z3 `violated` => the interpreter finds it violated too, and z3's shortest trace is at
        least as long as the interpreter's (z3's is the shortest within the bound, the
        interpreter's the shortest of all executions); when the bound covered every execution
        (some z3 property is `proved`, none `bounded`: the coverage query is one per model) the
        two lengths are equal;
    (c) z3 `proved` => the interpreter finds no violation (proved means every execution was
        covered);
    (d) interpreter violated and z3 not violated => z3 must say `bounded`, or `vacuous` while
        the bound did not cover every execution (no z3 property `proved`): the violation lies
        beyond the bound. (`vacuous`: no violation within the bound, and no check of the
        property reached within it; with every execution covered, none is reached at all.)
    (e) z3 `unknown` on any property => the model is skipped (counted; at most 1% may skip);
    (f) the interpreter stopped at its state limit (incomplete) => the model is skipped.
    Every z3 counterexample is also replayed on the interpreter (`interpret.replay`): its
    schedule must run and violate the property.
    """
    out = Outcome()
    result = verify_path(path, SourceCache(), VerifyOptions(solver=SOLVER))
    program = resolve(load_model(path, SourceCache()))
    mine = explore(program, MAX_STATES)
    for p in result.properties:
        out.z3[p.name] = (p.status, len(p.trace.steps) if p.trace is not None else None)
    for name, _ in mine.properties:
        found = mine.violations.get(name)
        out.interp[name] = (mine.status(name), len(found.steps) if found is not None else None)
    if any(p.status == UNKNOWN for p in result.properties):
        out.skipped = "z3 unknown"
        return out
    if not mine.complete:
        out.skipped = "interpreter state limit"
        return out
    if [p.name for p in result.properties] != [n for n, _ in mine.properties]:
        out.problems.append(f"property lists differ: z3 {[p.name for p in result.properties]}, "
                            f"interpreter {[n for n, _ in mine.properties]}")
        return out
    covered = (any(p.status == PROVED for p in result.properties)
               and all(p.status != BOUNDED for p in result.properties))
    out.compared = [p.name for p in result.properties]
    for p in result.properties:
        found = mine.violations.get(p.name)
        if p.status == VIOLATED:
            assert p.trace is not None
            if found is None:
                out.problems.append(f"{p.name}: z3 violated, interpreter finds no violation")
            elif len(p.trace.steps) < len(found.steps):
                out.problems.append(f"{p.name}: z3 trace of {len(p.trace.steps)} steps is shorter than the "
                                    f"interpreter's shortest, {len(found.steps)}")
            elif covered and len(p.trace.steps) != len(found.steps):
                out.problems.append(f"{p.name}: every execution is covered, yet z3's shortest trace has "
                                    f"{len(p.trace.steps)} steps and the interpreter's {len(found.steps)}")
            schedule = [(s.thread, s.file, s.line) for s in p.trace.steps]
            ok, why = replay(program, schedule, p.name, p.kind)
            if not ok:
                out.problems.append(f"{p.name}: the z3 counterexample does not replay: {why}; schedule {schedule}")
        elif p.status == PROVED:
            if found is not None:
                out.problems.append(f"{p.name}: z3 proved, interpreter violated in {len(found.steps)} steps")
        elif p.status == VACUOUS:
            if found is not None and covered:
                out.problems.append(f"{p.name}: z3 vacuous with every execution covered, interpreter violated "
                                    f"in {len(found.steps)} steps")
        elif p.status == BOUNDED:
            pass  # (d): the interpreter's answer, either way, is the unbounded truth
    return out


def test_z3_and_interpreter_agree_on_random_models(tmp_path: Path) -> None:
    stats: Counter[str] = Counter()
    path = str(tmp_path / "gen.dsl")
    found: list[str] = []   # a wider run: every disagreement, reported at the end

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None, print_blob=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much, HealthCheck.large_base_example])
    @given(gen_models.models())
    def check(text: str) -> None:
        note("model:\n" + text)     # printed with the falsifying example, whatever fails
        Path(path).write_text(text, encoding="utf-8")
        outcome = compare(path)
        stats["models"] += 1
        if outcome.skipped:
            stats["skipped: " + outcome.skipped] += 1
            stats["skipped"] += 1
            return
        stats["compared"] += 1
        if "final {" in text:
            stats["with a final block"] += 1
            stats["with holds"] += "holds(" in text
        if outcome.z3.get("uaf", ("", None))[0] == VIOLATED or outcome.interp.get("uaf", ("", None))[0] == VIOLATED:
            stats["with a uaf"] += 1
        stats["properties compared"] += len(outcome.compared)
        for name in outcome.compared:
            stats[f"z3 {outcome.z3[name][0]}"] += 1
        if outcome.problems and SEED is not None:
            stats["disagreements"] += 1
            kept = tmp_path / f"disagreement{len(found) + 1}.dsl"
            kept.write_text(text, encoding="utf-8")
            found.append(f"{kept}:\n{text}{outcome.describe()}")
            return
        assert not outcome.problems, f"z3 and the interpreter disagree on:\n{text}\n{outcome.describe()}"

    (check if SEED is None else seed(int(SEED))(check))()
    print(f"\ndifferential: {dict(stats)}")
    assert not found, "z3 and the interpreter disagree on:\n" + "\n\n".join(found)
    assert stats["models"] >= EXAMPLES
    assert stats["skipped"] <= MAX_SKIP_RATE * stats["models"], dict(stats)


SPLIT_EXAMPLES = int(os.environ.get("OBJCG_DIFF_SPLIT_EXAMPLES", "100"))


def same_program(a: Program, b: Program) -> bool:
    """Equal but for where they are written: the file, and the names of unlabelled checks
    (`assert@file:line`)."""
    def placeless(p: Program) -> Program:
        return dataclasses.replace(p, path="", bound_span=None, width_span=None,
                                   properties=tuple((kind, name.partition("@")[0]) for kind, name in p.properties))
    return placeless(a) == placeless(b)


def test_a_model_split_by_replace_is_the_model(tmp_path: Path) -> None:
    # docs/dsl.md, "replace and extend": a generated model split into a base and a difference
    # that replaces some of its declarations (gen_models.split_models) is the same program once
    # resolved, and the engines agree on the difference as on any model (its traces cite the
    # difference's lines: the z3 counterexamples replay)
    stats: Counter[str] = Counter()
    full, difference = tmp_path / "full.dsl", tmp_path / "difference.dsl"

    @settings(max_examples=SPLIT_EXAMPLES, deadline=None, derandomize=SEED is None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(gen_models.split_models())
    def check(texts: tuple[str, str, str]) -> None:
        text, base, diff = texts
        note(f"base:\n{base}\ndifference:\n{diff}")
        full.write_text(text, encoding="utf-8")
        (tmp_path / gen_models.BASE_FILE).write_text(base, encoding="utf-8")
        difference.write_text(diff, encoding="utf-8")
        mine, theirs = (resolve(load_model(str(p), SourceCache())) for p in (difference, full))
        assert same_program(mine, theirs)
        stats["models"] += 1
        stats["replacements"] += diff.count("\nreplace ")
        stats["with a replacement"] += "\nreplace " in diff
        outcome = compare(str(difference))
        stats["skipped" if outcome.skipped else "compared"] += 1
        assert not outcome.problems, f"z3 and the interpreter disagree on:\n{diff}\n{outcome.describe()}"

    (check if SEED is None else seed(int(SEED))(check))()
    print(f"\nsplit by replace: {dict(stats)}")
    assert stats["with a replacement"] >= stats["models"] // 2, dict(stats)
