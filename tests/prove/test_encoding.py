"""Encoding corner cases: executions the memory model must rule out (docs/semantics.md)."""

from __future__ import annotations

from pathlib import Path

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove.verify import VerifyOptions, verify_path


def _status(tmp_path: Path, text: str, name: str) -> str:
    path = tmp_path / "m.dsl"
    path.write_text(text)
    result = verify_path(str(path), SourceCache(), VerifyOptions(only=(name,)))
    return next(p.status for p in result.properties if p.name == name)


TWO_STEPS = """
refcounted struct obj { };
object struct obj a, b;
ghost word seen1 = 0;
thread T1 { atomic { word x = refcount(&a); get(&b); seen1 = x; } }
thread T2 {
    word y;
    atomic { y = refcount(&b); get(&a); }
    await(seen1 != 0);
    word s = seen1;
    assert(!(s == 1 && y == 1), "one_step_sees_the_other");
}
"""


def test_two_atomic_steps_cannot_each_miss_the_other(tmp_path: Path) -> None:
    # Each atomic step reads one refcount and increments the other. Whichever runs first, the
    # second sees its increment: both reading 1 would need each step before the other.
    assert _status(tmp_path, TWO_STEPS, "one_step_sees_the_other") == "proved"


def test_the_same_steps_split_do_miss_each_other(tmp_path: Path) -> None:
    split = TWO_STEPS.replace("atomic { word x = refcount(&a); get(&b); seen1 = x; }",
                              "word x = refcount(&a); get(&b); seen1 = x;")
    split = split.replace("atomic { y = refcount(&b); get(&a); }", "y = refcount(&b); get(&a);")
    assert _status(tmp_path, split, "one_step_sees_the_other") == "violated"
