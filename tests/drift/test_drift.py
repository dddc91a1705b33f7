"""`objcg-prove drift` (objcg_proof/cli/drift.py, NOTE(drift-findings) in drift/compare.py,
NOTE(mirror-comments) in drift/model_side.py).

Two kinds of C: a small kernel-style file written here, edited one way per test (a changed line,
an inserted statement, two statements swapped, a function deleted, whitespace and comments only);
and, where ../shared/seed is beside the checkout, the C of the series' patches, reconstructed from
their hunks, against the shipped design models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_helpers import run, validate_json

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed"
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="../shared/seed is not beside this checkout")


def seed_patch(version: str) -> str:
    return str(SEED / f"{version}-mm-kmem-add-direct-objcg-pointer-to-task_struct.patch.txt")


C_FILE = """\
// SPDX-License-Identifier: GPL-2.0
#include <linux/memcontrol.h>

static struct obj_cgroup *refresh(void)
{
	struct obj_cgroup *old, *objcg = NULL;

	do {
		old = xchg(&current->objcg, NULL);
		if (old)
			obj_cgroup_put(old);	/* the cached reference */
		rcu_read_lock();
		objcg = lookup(current);
		rcu_read_unlock();
	} while (!try_cmpxchg(&current->objcg, &old, objcg));
	return objcg;
}

static __always_inline void mark(struct task_struct *task)
{
	set_bit(0, (unsigned long *)&task->objcg);
}

static void unused_helper(void)
{
	barrier();
}
"""

MODEL = """\
shared word n = 0;
proc void refresh(void) {
    word old;
    // not modelled: struct obj_cgroup *old, *objcg = NULL;  -- locals of the model
    do {                                    // do {
        old = n;                            //     old = xchg(&current->objcg, NULL);
        if (old)                            //     if (old)
            n = 0;                          //         obj_cgroup_put(old);
        n = 1;                              //     rcu_read_lock();
        n = 2;                              //     objcg = lookup(current);
        n = 3;                              //     rcu_read_unlock();
    } while (n == 9);                       // } while (!try_cmpxchg(&current->objcg, &old, objcg));
    return;                                 // return objcg;
}
proc void mark(void) {
    n = 4;                                  // set_bit(0, (unsigned long *)&task->objcg);
}
thread A { refresh(); mark(); }
mirrors "mm/objcg.c" { refresh; mark; }
"""


def tree(tmp_path: Path, c_text: str = C_FILE) -> Path:
    (tmp_path / "linux" / "mm").mkdir(parents=True, exist_ok=True)
    (tmp_path / "linux" / "mm" / "objcg.c").write_text(c_text)
    return tmp_path / "linux"


def drift(project: Path, c_text: str, *more: str):
    (project / "m.dsl").write_text(MODEL)
    return run("drift", "--kernel-tree", str(tree(project, c_text)), "m.dsl", *more)


def findings(out: str) -> list[tuple[int, int, str]]:
    """(model line, C line, kind) of each finding line."""
    return [(int(m[1]), int(m[2]), m[3]) for m in re.finditer(r"^m\.dsl:(\d+): mm/objcg\.c:(\d+): (\w+): ", out, re.M)]


def test_a_mirror_that_matches_has_no_drift(project):
    r = drift(project, C_FILE)
    assert r.rc == 0, r.out + r.err
    assert r.out == "drift: 2 procedures checked: no drift\n"


def test_whitespace_and_comments_are_not_drift(project):
    reformatted = C_FILE.replace("\t\told = xchg(&current->objcg, NULL);", "  old=xchg( &current->objcg,\n      NULL );")
    reformatted = reformatted.replace("rcu_read_lock();", "rcu_read_lock(); /* new comment */\n\t\t// and another")
    reformatted = reformatted.replace("\n\treturn objcg;", "\n\n\n\treturn   objcg;")
    assert reformatted != C_FILE
    r = drift(project, reformatted)
    assert r.rc == 0 and "no drift" in r.out, r.out


def test_a_changed_line_is_found_with_both_locations(project):
    r = drift(project, C_FILE.replace("objcg = lookup(current);", "objcg = lookup_rcu(current);"))
    assert r.rc == 1
    assert findings(r.out) == [(10, 13, "changed")]
    assert "mirrors `objcg = lookup(current);`, where refresh() now has `objcg = lookup_rcu(current);`" in r.out
    assert r.out.endswith("drift: 2 procedures checked: 1 finding\n")


def test_an_inserted_statement_is_unmirrored(project):
    r = drift(project, C_FILE.replace("\t\trcu_read_unlock();\n", "\t\trcu_read_unlock();\n\t\tcond_resched();\n"))
    assert r.rc == 1
    assert findings(r.out) == [(11, 15, "unmirrored")]
    assert "`cond_resched();` in refresh() is mirrored by no line of proc refresh" in r.out


def test_two_statements_swapped_are_moved(project):
    swapped = C_FILE.replace("\t\trcu_read_lock();\n\t\tobjcg = lookup(current);\n",
                             "\t\tobjcg = lookup(current);\n\t\trcu_read_lock();\n")
    r = drift(project, swapped)
    assert r.rc == 1
    assert [f[2] for f in findings(r.out)] == ["moved"]
    assert "now has in another order" in r.out


def test_a_deleted_statement_is_stale(project):
    r = drift(project, C_FILE.replace("\t\trcu_read_unlock();\n", ""))
    assert r.rc == 1
    assert findings(r.out) == [(11, 14, "stale")]
    assert "mirrors `rcu_read_unlock();`, which is no longer in refresh()" in r.out


def test_a_deleted_function_is_gone_with_the_closest_names(project):
    c_text = C_FILE.replace("mark(struct task_struct *task)", "mark_task(struct task_struct *task)")
    r = drift(project, c_text)
    assert r.rc == 1
    assert re.search(r"^m\.dsl:19: mm/objcg\.c:0: gone: mark\(\) is no longer in mm/objcg\.c; "
                     r"the closest names it has: mark_task", r.out, re.M), r.out


def test_a_waiver_covers_its_statement_and_nothing_else(project):
    (project / "m.dsl").write_text(MODEL.replace("    // not modelled: struct obj_cgroup *old, *objcg = NULL;  -- locals of the model\n", ""))
    r = run("drift", "--kernel-tree", str(tree(project)), "m.dsl")
    assert r.rc == 1 and [f[2] for f in findings(r.out)] == ["unmirrored"]
    assert "`struct obj_cgroup *old, *objcg = NULL;`" in r.out


def test_json_and_sarif(project):
    r = drift(project, C_FILE.replace("obj_cgroup_put(old);", "obj_cgroup_put_many(old, 1);"), "--json",
              "--sarif", "drift.sarif")
    assert r.rc == 1
    doc = json.loads(r.out)
    validate_json("drift", doc)
    assert [(f["kind"], f["model_line"], f["c_line"]) for f in doc["findings"]] == [("changed", 8, 11)]
    assert [c["status"] for c in doc["checked"]] == ["checked", "checked"]
    sarif = json.loads((project / "drift.sarif").read_text())
    result = sarif["runs"][0]["results"][0]
    where = result["locations"][0]["physicalLocation"]
    assert where["artifactLocation"] == {"uri": "mm/objcg.c", "uriBaseId": "%SRCROOT%"}
    assert where["region"] == {"startLine": 11}
    assert result["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 8}
    assert result["ruleId"] == "drift/changed" and result["partialFingerprints"]
    assert sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/linux/")


@pytest.mark.parametrize("argv, message", [
    (["--kernel-tree", "nowhere"], "--kernel-tree nowhere: no such directory"),
    (["--patch", "nowhere.patch"], "--patch nowhere.patch: cannot read it"),
    ([], "give the C to check against: --kernel-tree DIR or --patch FILE"),
])
def test_bad_input_is_exit_2(project, argv, message):
    (project / "m.dsl").write_text(MODEL)
    r = run("drift", *argv, "m.dsl")
    assert r.rc == 2 and message in r.err and "Traceback" not in r.err


def test_a_c_file_the_tree_lacks_and_an_unknown_proc_are_located(project):
    (project / "m.dsl").write_text(MODEL.replace('mirrors "mm/objcg.c" { refresh; mark; }',
                                                 'mirrors "mm/other.c" { refresh; }\nmirrors "mm/objcg.c" { marc; }'))
    r = run("drift", "--kernel-tree", str(tree(project)), "m.dsl")
    assert r.rc == 2
    assert "m.dsl:20:24: error: mirrors marc: the model has no procedure of that name (did you mean mark?)" in r.err
    (project / "m.dsl").write_text(MODEL.replace('"mm/objcg.c"', '"mm/other.c"'))
    r = run("drift", "--kernel-tree", str(tree(project)), "m.dsl", "--json")
    assert r.rc == 2 and "mm/other.c: no such file in the kernel tree" in r.err
    validate_json("drift", json.loads(r.out))


def test_what_is_not_checked_says_why(project):
    (project / "plain.dsl").write_text("shared word n = 0;\nthread A { n = 1; }\n")
    (project / "m.dsl").write_text(MODEL.replace('mirrors "mm/objcg.c" {', 'mirrors "mm/objcg.c" unmerged {'))
    r = run("drift", "--kernel-tree", str(tree(project)), "plain.dsl", "m.dsl")
    assert r.rc == 0, r.err
    assert "plain.dsl: mirrors no C function" in r.err
    assert "refresh: not checked: the design was never merged" in r.err
    assert r.out == "drift: 0 procedures checked, 2 not checked (notes above): no drift\n"


# ---- the series' own C, from the patches in ../shared/seed ----------------------------------

@needs_seed
@pytest.mark.parametrize("version", ["v1", "v2", "v5"])
def test_each_posted_design_has_no_drift_against_its_own_patch(project, version):
    r = run("drift", "--patch", seed_patch(version), str(ROOT / "models" / f"objcg_{version}.dsl"))
    assert r.rc == 0, r.out + r.err
    # the patches' hunks show get_obj_cgroup_from_current() only in part
    assert r.out == "drift: 3 procedures checked, 1 not checked (notes above): no drift\n"
    assert "get_obj_cgroup_from_current: not checked: the patch's hunks show only part" in r.err


@needs_seed
def test_v5_against_the_v2_text_names_what_review_found(project):
    v5 = ROOT / "models" / "objcg_v5.dsl"
    r = run("drift", "--patch", seed_patch("v2"), str(v5), "--json")
    assert r.rc == 1
    doc = json.loads(r.out)
    validate_json("drift", doc)
    by_text = {f["message"]: f for f in doc["findings"]}
    model = v5.read_text().splitlines()

    def finding(fragment: str) -> dict:
        found = [f for message, f in by_text.items() if fragment in message]
        assert len(found) == 1, (fragment, list(by_text))
        return found[0]

    # the bit set on `current` instead of `task`
    bit = finding("where mem_cgroup_kmem_attach() now has `set_bit(0, (unsigned long *)&current->objcg);`")
    assert bit["kind"] == "changed" and "&task->objcg" in model[bit["model_line"] - 1]
    # the put of a failed iteration's reference, which v2 lacks
    put = finding("mirrors `obj_cgroup_put(objcg);`, which is no longer in current_objcg_update()")
    assert put["kind"] == "stale" and "put(objcg)" in model[put["model_line"] - 1]
    # the early return for kernel threads and tasks without mm
    kthread = finding("mirrors `if (!current->mm || (current->flags & PF_KTHREAD))`")
    assert kthread["kind"] == "stale" and "PF_KTHREAD" in model[kthread["model_line"] - 1]
    for f in (bit, put, kthread):
        assert f["c_file"] == "mm/memcontrol.c" and f["c_line"] and f["model_file"] == str(v5)


def test_check_with_a_kernel_tree_runs_drift_first(project):
    (project / "models").mkdir(exist_ok=True)
    (project / "models" / "m.dsl").write_text(MODEL)
    assert run("prove", "--record", "models/m.dsl").rc == 0
    linux = tree(project)
    r = run("check", "--kernel-tree", str(linux), "models/m.dsl")
    assert r.rc == 0, r.out + r.err
    assert r.out.startswith("drift: 2 procedures checked: no drift\nmodels/m.dsl: as recorded")
    (linux / "mm" / "objcg.c").write_text(C_FILE.replace("rcu_read_unlock();", "rcu_read_unlock_sched();"))
    r = run("check", "--kernel-tree", str(linux), "models/m.dsl")
    assert r.rc == 1, r.out + r.err   # the verdicts are as recorded; the model no longer mirrors the C
    assert "models/m.dsl:11: mm/objcg.c:14: changed:" in r.out and "as recorded" in r.out
    r = run("check", "--kernel-tree", str(project / "nowhere"), "models/m.dsl")
    assert r.rc == 2 and "no such directory" in r.err


# v5's mm/memcontrol.c as its patch's hunks show it (drift/patch.py), the functions the v5 model
# mirrors cut out whole: get_obj_cgroup_from_current() with the one line between its two hunks,
# `struct obj_cgroup *objcg;` (v6.7's text), the rest of the file blank, so every line keeps its
# number. Each test edits a copy of it one way.
V5_GAP = (3062, "\tstruct obj_cgroup *objcg;")
V5_KEEP = (range(3004, 3090), range(6421, 6502))   # current_objcg_update .. get_obj_cgroup_from_current; fork .. attach


def v5_tree(tmp_path: Path, edit) -> Path:
    from objcg_proof.drift.patch import post_image
    lines = post_image(Path(seed_patch("v5")).read_text(), "mm/memcontrol.c", "v5").split("\n")
    lines[V5_GAP[0] - 1] = V5_GAP[1]
    kept = [line if any(n in r for r in V5_KEEP) else "" for n, line in enumerate(lines, 1)]
    (tmp_path / "v6.7" / "mm").mkdir(parents=True)
    (tmp_path / "v6.7" / "mm" / "memcontrol.c").write_text(edit("\n".join(kept)))
    return tmp_path / "v6.7"


def _same(text: str) -> str:
    return text


def _reindent(text: str) -> str:   # whitespace only: tabs to spaces, a statement split over two lines
    text = text.replace("\t", "    ")
    return text.replace("old = xchg(&current->objcg, NULL);", "old = xchg(&current->objcg,\n                   NULL);")


def _changed(text: str) -> str:    # the bit set on current again, as in v2
    return text.replace("(unsigned long *)&task->objcg);", "(unsigned long *)&current->objcg);")


def _inserted(text: str) -> str:   # a statement the model does not have
    return text.replace("\t\trcu_read_unlock();\n", "\t\trcu_read_unlock();\n\t\tcond_resched();\n", 1)


def _reordered(text: str) -> str:  # two statements swapped
    return text.replace("\t\tmemcg = mem_cgroup_from_task(current);\n\t\tobjcg = __get_obj_cgroup_from_memcg(memcg);\n",
                        "\t\tobjcg = __get_obj_cgroup_from_memcg(memcg);\n\t\tmemcg = mem_cgroup_from_task(current);\n")


def _deleted(text: str) -> str:    # mem_cgroup_exit() renamed away: gone
    return text.replace("static void mem_cgroup_exit(struct task_struct *task)", "static void mem_cgroup_task_exit(struct task_struct *task)")


@needs_seed
@pytest.mark.parametrize("edit, expected", [
    (_same, []), (_reindent, []), (_changed, ["changed"]), (_inserted, ["unmirrored"]), (_reordered, ["moved"]),
    (_deleted, ["gone"]),
])
def test_edits_of_the_v5_c_against_the_v5_model(tmp_path, edit, expected):
    linux = v5_tree(tmp_path, edit)
    model = ROOT / "models" / "objcg_v5.dsl"
    r = run("drift", "--kernel-tree", str(linux), str(model), "--json")
    doc = json.loads(r.out)
    assert sorted(f["kind"] for f in doc["findings"]) == expected, r.out
    assert r.rc == (1 if expected else 0), r.err
    assert [c["status"] for c in doc["checked"]] == ["checked"] * 4
    for f in doc["findings"]:
        assert f["c_file"] == "mm/memcontrol.c" and f["model_file"] == str(model)
    if edit is _changed:
        f = doc["findings"][0]
        assert "set_bit" in model.read_text().splitlines()[f["model_line"] - 1]
        assert "&current->objcg" in (linux / "mm" / "memcontrol.c").read_text().splitlines()[f["c_line"] - 1]
    if edit is _deleted:
        assert "mem_cgroup_exit() is no longer in mm/memcontrol.c; the closest names it has: mem_cgroup_task_exit" \
            in doc["findings"][0]["message"]
