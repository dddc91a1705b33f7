"""SPIN cross-check: every verdict of every shipped model against SPIN's exhaustive search.

For each model in models/*.dsl and models/examples/*.dsl (each objcg design on the narrow
setting of its scenario, tests/narrow/: NOTE(narrow-designs)), the prover (`verify_path` with the
default options, under sequential consistency, as SPIN searches: also for a model that declares
`memory_model lkmm;`) gives every property a verdict, and SPIN searches the model's Promela export
(objcg_proof/promela.py: built from the resolved program, never from the prover's unrolled
events or constraints) with real, unbounded loops. Per property they must agree:

- prover `violated` <=> SPIN finds a violation of that property;
- prover `proved`    => SPIN finds none (a proof covers every execution, as SPIN's search does);
- prover `bounded`   => not compared: the prover saw no violation within the bound, while SPIN
  answers for every execution, beyond the bound too, so either SPIN answer is consistent with
  it (the skip reason says what SPIN found);
- prover `unknown` or `vacuous` => not compared either (the solver gave up; or nothing was
  checked within the bound, which says nothing about executions beyond it).

SPIN runs once per model, in a temporary directory of its own, in the export's survey mode
(`-DPROPERTY=-1`): a failing check prints the number of its property and the search goes on,
and deadlocks are the invalid end states pan counts with `-c0`. pan is compiled without
partial-order reduction (`-DNOREDUCE`), so every reachable transition is executed and every
reachable violation printed. The prover runs once per model as well (lru_cache), the models
two at a time in worker processes (the machine has two cores; SPIN's share is small).

Generated models (`gen_models.models()`, as in test_differential.py) are cross-checked the
same way, every property compared, after a `uaf` too (a failed access stops its thread in both:
docs/semantics.md, "Failed accesses"): a few in CI (derandomized); a wider run, outside CI,
with `OBJCG_SPIN_SEED=5150 OBJCG_SPIN_EXAMPLES=300 pytest -s tests/oracles/test_spin.py -k generated`
(other models, hypothesis seeded with that number; it goes on after a disagreement and lists
every one at the end, each model written to the test's temporary directory). A generated model
the export cannot represent (a UserError naming the construct) is counted and skipped.

Known disagreements under investigation: none.

SPIN is required, not optional: without it every test here fails and says how to install it
(`bash scripts/test`, the CI entry point, installs it).
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import os
import re
import shutil
import subprocess
import textwrap
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from collections import Counter
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, note, seed, settings

import array_models
import atomic_models
import final_models
import gen_models
import reuse_models
import spin_models
from objcg_proof.cli.dispatch import main
from objcg_proof.lang.diagnostics import SourceCache, UserError
from objcg_proof.oracles.promela import PromelaModel, export_path
from objcg_proof.prove.solver import SolverOptions
from objcg_proof.prove.verdict import BOUNDED, UNKNOWN, VACUOUS, VIOLATED
from objcg_proof.prove.verify import VerifyOptions, verify_path

ROOT = Path(__file__).resolve().parents[2]
MODELS = tuple(str(p.relative_to(ROOT)) for p in sorted((ROOT / "models").glob("*.dsl"))) + tuple(
    str(p.relative_to(ROOT)) for p in sorted((ROOT / "models" / "examples").glob("*.dsl")))
INSTALL = ("SPIN is not installed (no `spin` on PATH), and this cross-check needs it: install the Debian "
           "package with `apt-get update && apt-get install -y spin` (as root), or run the tests with "
           "`bash scripts/test`, which installs it")
GCC = "gcc is not installed: SPIN's verifier (pan.c) is compiled with it (Debian package gcc)"
PAN_DEPTH = 1_000_000      # DFS depth limit: far beyond any shipped model (the deepest is < 200)
TIMEOUT_S = 600
GENERATED = int(os.environ.get("OBJCG_SPIN_EXAMPLES", "20"))   # generated models per run
GENERATED_SEED = os.environ.get("OBJCG_SPIN_SEED")            # a wider run: other models
SURVEY = re.compile(r"^objcg-prove: property (\d+) \(", re.MULTILINE)


def require_spin() -> None:
    if shutil.which("spin") is None:
        pytest.fail(INSTALL, pytrace=False)
    if shutil.which("gcc") is None:
        pytest.fail(GCC, pytrace=False)


def run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed with status {done.returncode} in {cwd}:\n"
                    f"{done.stdout[-3000:]}{done.stderr[-3000:]}", pytrace=False)
    return done.stdout


# NOTE(narrow-designs): SPIN's exhaustive search of a design on the full scenario runs for many
# minutes (models/objcg_v5.dsl: 2 million states in 35 s and still going), so each objcg design
# is cross-checked on the narrow setting of the scenario (tests/narrow/, the same design file
# with smaller params); the prover's verdicts on the full scenario are in tests/prove/test_models.py.
def checked_path(model: str) -> Path:
    """The file SPIN and the prover are compared on for the shipped model `model`."""
    path = Path(model)
    if path.parent == Path("models") and path.name.startswith("objcg_"):
        return ROOT / "tests" / "narrow" / path.name
    return ROOT / model


@functools.lru_cache(maxsize=None)
def export(model: str) -> PromelaModel:
    return export_path(str(checked_path(model)), SourceCache())


def statuses(path: str) -> dict[str, str]:
    """The prover's verdict per property (run in a worker process)."""
    result = verify_path(path, SourceCache(), VerifyOptions(memory_model="sc"))
    return {p.name: p.status for p in result.properties}


@functools.lru_cache(maxsize=None)
def provers() -> dict[str, Future[dict[str, str]]]:
    """Every shipped model submitted to the prover at once, two worker processes (started
    fresh: z3 must not be forked), the slowest models (largest files) first."""
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    order = sorted(MODELS, key=lambda m: -len((ROOT / m).read_text(encoding="utf-8")))
    futures = {model: pool.submit(statuses, str(checked_path(model))) for model in order}
    pool.shutdown(wait=False)
    return futures


@functools.lru_cache(maxsize=None)
def prover(model: str) -> dict[str, str]:
    return provers()[model].result()


@dataclass(frozen=True)
class SpinAnswer:
    violated: frozenset[str]   # the properties SPIN found a violation of
    states: int


def survey(promela: PromelaModel, workdir: Path) -> SpinAnswer:
    """Compile and run pan in survey mode on an exported model; every property it violates."""
    (workdir / "model.pml").write_text(promela.text, encoding="utf-8")
    run(["spin", "-DPROPERTY=-1", "-a", "model.pml"], workdir)
    # -O2, as the export's header tells users: pan searches the narrow v3 about 2.6x faster than
    # at -O0 (117 s against 303 s, 18 million states), for 2 s of compiling instead of 0.7 s
    run(["gcc", "-O2", "-w", "-fwrapv", "-DSAFETY", "-DCOLLAPSE", "-DNOREDUCE", "-DPRINTF", "-DVECTORSZ=4096",
         "-o", "pan", "pan.c"], workdir)
    out = run(["./pan", f"-m{PAN_DEPTH}", "-c0", "-n", "-w22"], workdir)
    where = f"pan in {workdir}"
    errors = re.search(r"errors: (\d+)", out)
    states = re.search(r"(\d[\d.e+]*) states, stored", out)   # pan prints 1.2e+08 past 10^8
    assert errors is not None and states is not None, f"{where} did not finish its search:\n{out[-3000:]}"
    assert "max search depth too small" not in out, f"{where}: the search was cut at depth {PAN_DEPTH}"
    # in survey mode the only error pan may report is an invalid end state (a deadlock)
    others = [line for line in out.splitlines()
              if re.match(r"pan:\d+:", line) and "invalid end state" not in line]
    assert not others, f"{where} reported an unexpected error (an export bug?): {others}"
    violated = {promela.properties[int(n) - 1] for n in SURVEY.findall(out)}
    if int(errors.group(1)) > 0:
        violated.add("deadlock")
    return SpinAnswer(frozenset(violated), int(float(states.group(1))))


@functools.lru_cache(maxsize=None)
def spin(model: str, workdir: Path) -> SpinAnswer:
    return survey(export(model), workdir)


@pytest.fixture(scope="module")
def workdir_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """One temporary directory per model, for SPIN's files."""
    made: dict[str, Path] = {}

    def workdir(model: str) -> Path:
        if model not in made:
            made[model] = tmp_path_factory.mktemp(Path(model).stem)
        return made[model]

    return workdir


CASES = tuple((model, name) for model in MODELS for name in export(model).properties)


def test_spin_is_installed() -> None:
    require_spin()
    version = run(["spin", "-V"], ROOT)
    assert "Spin Version" in version


def test_every_shipped_model_is_cross_checked() -> None:
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "models").glob("**/*.dsl") if "harness" not in p.parts}
    assert set(MODELS) == shipped


@pytest.mark.parametrize("model", MODELS)
def test_the_export_lists_the_prover_properties(model: str) -> None:
    assert export(model).properties == tuple(prover(model)), model


def disagreement(status: str, prop: str, answer: SpinAnswer) -> str | None:
    """Whether SPIN's answer on `prop` contradicts the prover's `status` (the rules at the top;
    call only for a compared status: proved or violated). None when they agree."""
    found = prop in answer.violated
    spin_says = ("SPIN finds a violation" if found
                 else f"SPIN finds no violation in any execution ({answer.states} states, loops unbounded)")
    if (status == VIOLATED) != found:
        return f"property {prop}: the prover says {status}, but {spin_says}"
    return None


@pytest.mark.parametrize("model, prop", CASES, ids=[f"{m}:{p}" for m, p in CASES])
def test_spin_agrees_with_the_prover(model: str, prop: str, workdir_of: Callable[[str], Path]) -> None:
    require_spin()
    answer = spin(model, workdir_of(model))
    status = prover(model).get(prop)
    assert status is not None, f"{model}: the prover reports no property {prop}, the export has it"
    if status in (BOUNDED, UNKNOWN, VACUOUS):
        found = "a violation" if prop in answer.violated else "no violation"
        pytest.skip(f"{model}: {prop}: the prover says {status}, not compared; SPIN finds {found}")
    problem = disagreement(status, prop, answer)
    assert problem is None, f"SPIN and the prover disagree on {model}, {problem}"


# ---- generated models -------------------------------------------------------------------------

def cross_check(path: str, workdir: Path) -> tuple[str, dict[str, str], list[str]]:
    """The prover and SPIN on one model file: (why it was skipped or "", the prover's verdict of
    each property compared, the disagreements). Every property is compared whatever else is
    violated."""
    result = verify_path(path, SourceCache(), VerifyOptions(solver=SolverOptions(timeout_s=10), memory_model="sc"))
    if any(p.status == UNKNOWN for p in result.properties):
        return "the prover says unknown", {}, []
    try:
        promela = export_path(path, SourceCache())
    except UserError as exc:
        return f"not exported: {exc.diagnostics[0].message.split(' is not supported')[0]}", {}, []
    answer = survey(promela, workdir)
    compared = [p for p in result.properties if p.status not in (BOUNDED, UNKNOWN, VACUOUS)]
    problems = [problem for p in compared if (problem := disagreement(p.status, p.name, answer)) is not None]
    return "", {p.name: p.status for p in compared}, problems


def test_spin_agrees_with_the_prover_on_generated_models(tmp_path: Path) -> None:
    require_spin()
    stats: Counter[str] = Counter()
    path = tmp_path / "gen.dsl"
    found: list[str] = []   # a wider run: every disagreement, reported at the end

    @settings(max_examples=GENERATED, deadline=None, derandomize=GENERATED_SEED is None, database=None,
              print_blob=False, suppress_health_check=list(HealthCheck))
    @given(gen_models.models())
    def check(text: str) -> None:
        note("model:\n" + text)
        path.write_text(text, encoding="utf-8")
        skipped, compared, problems = cross_check(str(path), tmp_path)
        stats["models"] += 1
        if skipped:
            stats["skipped: " + skipped] += 1
            return
        stats["compared"] += 1
        stats["properties compared"] += len(compared)
        if "final {" in text:
            stats["with a final block"] += 1
            stats["with holds"] += "holds(" in text
        if compared.get("uaf") == VIOLATED:
            stats["with a uaf"] += 1
        if problems and GENERATED_SEED is not None:
            stats["disagreements"] += 1
            kept = tmp_path / f"disagreement{len(found) + 1}.dsl"
            kept.write_text(text, encoding="utf-8")
            found.append(f"{kept}:\n{text}" + "\n".join(problems))
            return
        assert not problems, "SPIN and the prover disagree on:\n" + text + "\n".join(problems)

    (check if GENERATED_SEED is None else seed(int(GENERATED_SEED))(check))()
    print(f"\nSPIN on generated models: {dict(stats)}")
    assert not found, "SPIN and the prover disagree on:\n" + "\n\n".join(found)
    assert stats["compared"] >= GENERATED // 2, dict(stats)


# ---- the export command, its single-property mode, and a deadlock ---------------------------

LOST_WAKEUP = """
shared word counter = 0;
thread A {
    word t = counter;
    counter = t + 1;
}
thread B {
    word t = counter;
    counter = t + 1;
}
thread Check {
    await(counter == 2);
}
"""


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_export_command_writes_the_model(tmp_path: Path) -> None:
    model = str(ROOT / "models" / "examples" / "counter.dsl")
    target = tmp_path / "counter.pml"
    assert cli("export", "--format", "promela", model, "-o", str(target)) == (0, "", "")
    expected = export_path(model, SourceCache()).text
    assert target.read_text(encoding="utf-8") == expected
    assert cli("export", "--format", "promela", model) == (0, expected, "")


NO_OBJECT = """refcounted struct obj { word x; };
shared word n = 0;
thread A { atomic_inc(&n); }
thread B { word c = n; assert(c < 2, "small"); await(c == 9); }
"""


def test_export_lists_leak_only_with_a_refcounted_object(tmp_path: Path) -> None:
    # no object of a refcounted struct: no leak, so uaf is property 1 and deadlock 2, as the
    # prover lists them; with an object, leak is 1 again (docs/semantics.md, "Property order")
    path = tmp_path / "m.dsl"
    path.write_text(NO_OBJECT, encoding="utf-8")
    model = export_path(str(path), SourceCache())
    assert (model.properties, model.kinds) == (("uaf", "deadlock", "small"), ("uaf", "deadlock", "assert"))
    assert model.number("deadlock") == 2 and "PROP_1_uaf" in model.text and "leak" not in model.text.split("*/")[1]
    assert "'invalid end state' (reported only when n is 2 or 0)" in model.text
    path.write_text(NO_OBJECT.replace("shared word n = 0;", "object struct obj o;\nshared word n = 0;"), encoding="utf-8")
    model = export_path(str(path), SourceCache())
    assert model.properties == ("leak", "uaf", "deadlock", "small") and "leak" in model.checked
    assert "'invalid end state' (reported only when n is 3 or 0)" in model.text


def test_export_command_reports_a_bad_model_like_the_prover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.dsl").write_text("shared word x = 0;\nthread T {\n    x++;\n}\n", encoding="utf-8")
    rc, out, err = cli("export", "--format", "promela", "bad.dsl")
    assert (rc, out) == (2, "")
    assert err == cli("bad.dsl")[2]
    assert err.startswith("bad.dsl:3:5: error: this statement makes 2 shared accesses")
    assert cli("export", "--format", "promela", "bad.dsl", "-D", "N")[0] == 2


def test_deadlock_is_an_invalid_end_state(tmp_path: Path) -> None:
    require_spin()
    path = tmp_path / "wakeup.dsl"
    path.write_text(textwrap.dedent(LOST_WAKEUP), encoding="utf-8")
    verdicts = {p.name: p.status for p in verify_path(str(path), SourceCache(), VerifyOptions(memory_model="sc")).properties}
    assert verdicts == {"uaf": "proved", "deadlock": "violated"}   # no refcounted object: no leak
    answer = survey(export_path(str(path), SourceCache()), tmp_path)
    assert answer.violated == {"deadlock"}


def test_single_property_mode(tmp_path: Path) -> None:
    """`-DPROPERTY=n` keeps property n's checks only: a violation is pan's first error."""
    require_spin()
    promela = export(str(Path("models") / "examples" / "counter.dsl"))
    (tmp_path / "model.pml").write_text(promela.text, encoding="utf-8")

    def pan(name: str) -> str:
        run(["spin", f"-DPROPERTY={promela.number(name)}", "-a", "model.pml"], tmp_path)
        run(["gcc", "-O0", "-w", "-fwrapv", "-DSAFETY", "-o", "pan", "pan.c"], tmp_path)
        return run(["./pan", f"-m{PAN_DEPTH}", "-n"], tmp_path)

    plain = pan("plain_is_2")
    # counter.dsl has no refcounted object, so no leak: uaf is 1, deadlock 2, plain_is_2 3
    assert "assertion violated" in plain and "PROP_3_plain_is_2" in plain and "errors: 1" in plain
    assert "errors: 0" in pan("counted_is_2")


HAND_DERIVED = atomic_models.CASES + array_models.CASES + tuple((f"final-{case}", text, want) for case, text, want in final_models.CASES)


@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in HAND_DERIVED],
                         ids=[case for case, _, _ in HAND_DERIVED])
def test_spin_runs_the_atomic_t_operations_and_final_checks(tmp_path: Path, text: str, statuses: dict[str, str]) -> None:
    # the verdicts derived by hand in tests/atomic_models.py, tests/array_models.py and tests/final_models.py (the
    # end-of-run checks, run by the thread that finishes last): SPIN finds exactly the violations
    assert_spin_finds(tmp_path, text, statuses)


def assert_spin_finds(tmp_path: Path, text: str, statuses: dict[str, str]) -> None:
    """SPIN finds exactly the violations `statuses` lists (every property of the model, when
    it lists the built-ins too)."""
    require_spin()
    path = tmp_path / "m.dsl"
    path.write_text(text, encoding="utf-8")
    promela = export_path(str(path), SourceCache())
    if "uaf" in statuses and "deadlock" in statuses:   # the case lists every property, built-ins too
        assert sorted(promela.properties) == sorted(statuses)
    answer = survey(promela, tmp_path)
    assert answer.violated == {name for name, status in statuses.items() if status == "violated"}


def test_a_final_check_alone_is_exported_with_its_end_count(tmp_path: Path) -> None:
    # -p of one final check keeps nfinished and that check only (no leak in the model)
    path = tmp_path / "m.dsl"
    path.write_text(final_models.RACE, encoding="utf-8")
    model = export_path(str(path), SourceCache(), properties=("sum",))
    assert "byte nfinished = 0;" in model.text and "PROP_3_sum" in model.text
    assert "PROP_4_" not in model.text.split("hidden byte PROP_4_")[1]   # the unlabelled final check is not kept
    alone = export_path(str(path), SourceCache(), properties=("uaf",))
    assert "nfinished" not in alone.text and "sum" in alone.checked


@pytest.mark.parametrize("text, statuses", [(text, want) for _, text, want in spin_models.CASES],
                         ids=[case for case, _, _ in spin_models.CASES])
def test_spin_runs_spin_loops(tmp_path: Path, text: str, statuses: dict[str, str]) -> None:
    # the verdicts derived by hand in tests/spin_models.py (docs/semantics.md, "Spin loops"):
    # SPIN, whose loops are unbounded, finds exactly the violations, deadlocks included
    assert_spin_finds(tmp_path, text, statuses)


# Each argument of a procedure call is its own unit (docs/semantics.md, "Units"): another thread
# can write between the reads of x and y, so f sees x == 1 and y == 0 only when it does.
TORN_ARGUMENTS = """
shared word x = 0;
shared word y = 0;
proc void f(word a, word b) {
    assert(a == b, "same_generation");
}
thread Reader {
    f(x, y);
}
thread Writer {
    atomic {
        x = 1;
        y = 1;
    }
}
"""


def test_call_arguments_are_separate_steps_for_spin_too(tmp_path: Path) -> None:
    require_spin()
    path = tmp_path / "torn.dsl"
    path.write_text(textwrap.dedent(TORN_ARGUMENTS), encoding="utf-8")
    result = verify_path(str(path), SourceCache(), VerifyOptions(memory_model="sc"))
    verdicts = {p.name: p.status for p in result.properties}
    assert verdicts["same_generation"] == "violated"
    trace = next(p.trace for p in result.properties if p.name == "same_generation")
    assert trace is not None and [s.thread for s in trace.steps] == ["Reader", "Writer", "Reader"]
    answer = survey(export_path(str(path), SourceCache()), tmp_path)
    assert answer.violated == {"same_generation"}


# ---- a design as a difference (`replace`, `extend`) ---------------------------------------------

def test_spin_finds_in_a_difference_what_it_finds_in_the_full_copy(tmp_path: Path) -> None:
    # docs/dsl.md, "replace and extend": the difference and the full copy are one program, so
    # their exports are one Promela model (up to the file names in its comments) and SPIN finds
    # the same violations, which the prover's verdicts match
    require_spin()
    (tmp_path / "v5").mkdir()
    (tmp_path / "cache").mkdir()
    pairs = [(reuse_models.V5_RETRY_LEAK, reuse_models.v5_retry_leak_copy(tmp_path / "v5")),
             reuse_models.write_cache_design(tmp_path / "cache")]
    found = []
    for difference, copy in pairs:
        mine, theirs = (export_path(str(p), SourceCache()) for p in (difference, copy))
        assert mine.properties == theirs.properties
        answers = [survey(m, tmp_path) for m in (mine, theirs)]
        assert answers[0] == answers[1], (difference, answers)
        verdicts = {p.name: p.status for p in verify_path(str(difference), SourceCache(), VerifyOptions(memory_model="sc")).properties}
        assert answers[0].violated == {n for n, st in verdicts.items() if st == VIOLATED}, (difference, verdicts)
        found.append(answers[0].violated)
    assert found == [{"leak"}, {"within_limit"}]
