"""`objcg-prove mutate --write-mutant N FILE`: a mutant written as the model with one procedure
replaced (docs/dsl.md, "replace and extend"; study/mutant_file.py). Loading the file gives the
mutant's declarations exactly, for every mutant of v5 and of a model with every statement form."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import reuse_models
from objcg_proof.cli.dispatch import main
from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.lang.parser import load_model
from objcg_proof.study.mutant_file import NotADifference, difference_text
from objcg_proof.study.mutate import OPERATORS, generate

ROOT = Path(__file__).resolve().parents[2]

EVERY_FORM = """
shared word x = 0, y = 0;
refcounted struct obj { word v; };
object struct obj o;
proc word f(struct obj *p, word n) {
    word r = 0;                      // r
    for (word i = 0; i < n; i++)     // a loop without braces
        r = r + 1;
    while (r > 3) {                  // a loop with them
        word t = x;
        x = t + 1;
        r--;
    }
    do
        y = 1;
    while (r > 5);
    if (r == 2) {                    // an else if chain
        get(p);
        put(p);
    } else if (r == 1)
        set_bit(0, &x);
    else {
        ;
    }
    atomic {
        word a = x;
        y = a;
    }
    {
        word old = xchg(&x, 0x1234);
        if (old && cmpxchg(&y, 1, 2) == 1)
            return (word)p | 1;
    }
    return r << 2 >> 1;
}
thread T { word v = f(&o, 2); assert(v != 99, "p"); }
"""


def written(model: Path, folder: Path) -> list[tuple[object, object]]:
    """Each mutant's declarations and those of its difference file, loaded again."""
    sources = SourceCache()
    module = load_model(str(model), sources)
    pairs = []
    for n, mutant in enumerate(generate(module, sources, OPERATORS), 1):
        target = folder / f"mutant{n}.dsl"
        try:
            target.write_text(difference_text(module, mutant, n, str(model), str(target), sources), encoding="utf-8")
        except NotADifference:
            continue
        pairs.append((mutant.module.decls, load_model(str(target), SourceCache()).decls))
    return pairs


@pytest.mark.parametrize("model", ["v5", "every form", "a difference"])
def test_the_file_is_the_mutant(model: str, tmp_path: Path) -> None:
    # a mutant of a difference file changes the difference (its replacement), and is written as
    # a second layer: a file that includes the difference and replaces that procedure again
    if model == "v5":
        path = ROOT / "models" / "objcg_v5.dsl"
    elif model == "a difference":
        path, _ = reuse_models.write_cache_design(tmp_path)
    else:
        path = tmp_path / "m.dsl"
        path.write_text(EVERY_FORM, encoding="utf-8")
    (tmp_path / "out").mkdir()
    pairs = written(path, tmp_path / "out")
    sources = SourceCache()
    mutants = generate(load_model(str(path), sources), sources)
    assert len(pairs) == len(mutants) >= 1   # every mutant is in a procedure
    assert {m.span.file for m in mutants} == {str(path)}
    for mutant, loaded in pairs:
        assert loaded == mutant


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = main(list(argv), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_write_mutant_writes_a_file_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.dsl").write_text(EVERY_FORM, encoding="utf-8")
    Path("sub").mkdir()
    rc, out, err = cli("mutate", "m.dsl", "--only", "drop-put", "--write-mutant", "1", "sub/mutant.dsl")
    assert (rc, err) == (0, ""), err
    assert out.startswith("wrote mutant 1 (drop-put at m.dsl:19:9) to sub/mutant.dsl")
    text = Path("sub/mutant.dsl").read_text(encoding="utf-8")
    assert 'include "../m.dsl";' in text and "\nreplace proc word f(struct obj *p, word n) {\n" in text
    assert "// MUTANT (drop-put) was: put(p);" in text
    rc, out, err = cli("sub/mutant.dsl")
    assert rc == 1 and "leak" in out and "VIOLATED" in out, out + err   # the reference is never dropped


@pytest.mark.parametrize("argv, phrase", [
    (["--write-mutant", "99", "x.dsl"], "--write-mutant 99: m.dsl has"),
    (["--write-mutant", "0", "x.dsl"], "--write-mutant 0: must be at least 1"),
    (["--write-mutant", "1", "no/such/dir/x.dsl"], "cannot write 'no/such/dir/x.dsl'"),
    (["--only", "drop-get", "--write-mutant", "1", "x.dsl"],
     "mutant 1 changes thread T: a difference file can only replace a procedure"),
])
def test_write_mutant_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], phrase: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.dsl").write_text("refcounted struct obj { };\nobject struct obj o;\nproc void f(void) { put(&o); }\n"
                             "thread T { get(&o); f(); put(&o); }\n", encoding="utf-8")
    rc, out, err = cli("mutate", "m.dsl", *argv)
    assert rc == 2 and out == "" and phrase in err, err
