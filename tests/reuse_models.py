"""Designs written as a difference (`replace`, `extend`: docs/dsl.md, "replace and extend"),
each with the same design written out in full, for the tests that check the two are one
program in every engine (tests/lang/test_reuse.py, tests/oracles/test_spin.py).

- the v5 retry leak: tests/lang/reuse/v5_retry_leak.dsl, models/objcg_v5.dsl with the put of a
  failed try_cmpxchg() iteration dropped; its full copy is models/objcg_v5.dsl with that
  procedure's text swapped for the replacement's, next to a copy of models/harness/, so it
  follows the shipped models as they change;
- a small cache design (`write_cache_design`): every kind of replacement and an `extend`.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
V5 = ROOT / "models" / "objcg_v5.dsl"
V5_RETRY_LEAK = ROOT / "tests" / "lang" / "reuse" / "v5_retry_leak.dsl"
REPLACED_HEAD = "proc struct obj_cgroup *current_objcg_update(void) {"
NARROW = {"MIGRATIONS": 1, "ALLOCS": 2, "KALLOCS": 1, "EXIT_ALLOCS": 0, "LATE_FREES": 0, "EARLY_OFFLINE": 0}


def v5_retry_leak_copy(folder: Path) -> Path:
    """The v5 retry leak written out in full in `folder` (harness/ copied beside it)."""
    shutil.copytree(ROOT / "models" / "harness", folder / "harness")
    harness = folder / "harness" / "objcg.dsl"
    text = harness.read_text(encoding="utf-8")
    for name, value in NARROW.items():   # the difference file's `replace param`s, written in place
        text = re.sub(rf"^param {name} = \d+;", f"param {name} = {value};", text, count=1, flags=re.MULTILINE)
    harness.write_text(text, encoding="utf-8")
    v5 = V5.read_text(encoding="utf-8")
    difference = V5_RETRY_LEAK.read_text(encoding="utf-8")
    new = difference[difference.index("replace " + REPLACED_HEAD) + len("replace "):].rstrip("\n")
    start = v5.index(REPLACED_HEAD)
    end = v5.index("\n}\n", start) + len("\n}")
    path = folder / "v5_retry_leak_copy.dsl"
    path.write_text(v5[:start] + new + v5[end:], encoding="utf-8")
    return path


def replaced_lines(path: Path) -> range:
    """The lines of the replaced procedure in a difference file or a full copy."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines) if REPLACED_HEAD in text) + 1
    end = next(i for i in range(start, len(lines)) if lines[i] == "}") + 1
    return range(start, end + 1)


# What every variant runs: A looks up N times, then B checks the count.
SCENARIO = """
    thread A {
        for (word i = 0; i < N; i++) {
            word n = lookup(&t);
            assert(n <= limit, "within_limit");
        }
        done = 1;
    }

    thread B {
        await(done);
        word h = o.hits;
        assert(h == N * STEP, "counted");
    }
"""

# The included design: a task caches one word; `lookup` is the design's hook the scenario calls.
CACHE_BASE = """
    width 8;
    param N = 1;                             // lookups by A
    const STEP = 1;
    struct obj { word hits; };
    struct task { const struct obj *cache; };
    object struct obj o;
    object struct task t = { .cache = &o };
    object struct task spare = { .cache = &o };
    shared word limit = 1;
    ghost word done = 0;

    proc word lookup(struct task *tk) {      // the design's hook: this one never counts
        return 0;
    }
""" + SCENARIO

# The variant as a difference: a counter added to the task, set by an initialiser added to t
# and by spare's new one; two lookups by default; a higher limit; a lookup that counts.
CACHE_DIFFERENCE = """
    include "base.dsl";

    extend struct task { word uses; };
    extend object struct task t = { .uses = 2 };
    replace object struct task spare = { .cache = NULL, .uses = 7 };
    replace param N = 2;
    replace const STEP = 2;
    replace shared word limit = 3;

    replace proc word lookup(struct task *task) {
        word n = task->uses;
        task->uses = n + 1;
        word h = task->cache->hits;
        task->cache->hits = h + STEP;
        return n + 1;
    }
"""

# The same variant written out in full.
CACHE_COPY = """
    width 8;
    param N = 2;                             // lookups by A
    const STEP = 2;
    struct obj { word hits; };
    struct task { const struct obj *cache; word uses; };
    object struct obj o;
    object struct task t = { .cache = &o, .uses = 2 };
    object struct task spare = { .cache = NULL, .uses = 7 };
    shared word limit = 3;
    ghost word done = 0;

    proc word lookup(struct task *task) {
        word n = task->uses;
        task->uses = n + 1;
        word h = task->cache->hits;
        task->cache->hits = h + STEP;
        return n + 1;
    }
""" + SCENARIO


def write_cache_design(folder: Path) -> tuple[Path, Path]:
    """The small cache variant as a difference (`variant.dsl`, including `base.dsl`) and as a
    full copy (`copy.dsl`), in `folder`."""
    for name, text in (("base.dsl", CACHE_BASE), ("variant.dsl", CACHE_DIFFERENCE), ("copy.dsl", CACHE_COPY)):
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder / "variant.dsl", folder / "copy.dsl"
