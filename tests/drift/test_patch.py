"""drift/patch.py: the hunks of a patch, the file as they show it on each side, and what a
malformed patch is told; then the seed patches of ../shared/seed read through c_functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from objcg_proof.drift.c_source import c_functions
from objcg_proof.drift.patch import (
    Hunk,
    PatchError,
    patch_files,
    post_image,
    post_shown,
    pre_image,
    pre_shown,
)

# A mail as `git format-patch` writes it: headers, message, diffstat, two files, signature.
MAIL = """\
From: A Developer <dev@example.org>
Subject: [PATCH] mm: an example

A message that quotes a header line:
--- a/mm/a.c (not followed by a +++ line, so no file header)
---
 mm/a.c | 3 ++-
 1 file changed

diff --git a/mm/a.c b/mm/a.c
index 1111111..2222222 100644
--- a/mm/a.c
+++ b/mm/a.c
@@ -3,4 +3,5 @@ static int f(void)
 {
-\treturn 0;
+\tint x = 1;
+\treturn x;
 }

@@ -20,2 +21,2 @@ static int g(void)
-\treturn 1;
+\treturn 2;
 }
\\ No newline at end of file
diff --git a/include/b.h b/include/b.h
--- a/include/b.h
+++ b/include/b.h
@@ -1 +1 @@
-#define B 1
+#define B 2
-- 
2.42.0
"""


def test_the_files_and_hunks_of_a_mailed_patch() -> None:
    files = patch_files(MAIL, "x.patch")
    assert list(files) == ["mm/a.c", "include/b.h"]
    first, second = files["mm/a.c"]
    assert first == Hunk(3, 4, 3, 5, 14, (" {", "-\treturn 0;", "+\tint x = 1;", "+\treturn x;", " }", " "))
    # the empty line is an empty context line; "\ No newline" is dropped
    assert second == Hunk(20, 2, 21, 2, 21, ("-\treturn 1;", "+\treturn 2;", " }"))
    assert files["include/b.h"] == (Hunk(1, 1, 1, 1, 29, ("-#define B 1", "+#define B 2")),)


def test_each_image_puts_a_line_at_its_number_in_the_file_and_leaves_the_rest_empty() -> None:
    text = MAIL
    post = post_image(text, "mm/a.c").split("\n")
    assert post[2:7] == ["{", "\tint x = 1;", "\treturn x;", "}", ""]
    assert post[20:22] == ["\treturn 2;", "}"]
    assert set(post[:2] + post[7:20]) == {""} and len(post) == 23      # 22 lines and the final newline
    pre = pre_image(text, "mm/a.c").split("\n")
    assert pre[2:6] == ["{", "\treturn 0;", "}", ""]
    assert pre[19:21] == ["\treturn 1;", "}"]
    assert post_shown(text, "mm/a.c") == (range(3, 8), range(21, 23))
    assert pre_shown(text, "mm/a.c") == (range(3, 7), range(20, 22))


def test_adjacent_hunks_make_one_shown_range_and_a_pure_deletion_shows_nothing_new() -> None:
    text = ("--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n@@ -3,1 +3,1 @@\n-d\n+e\n"
            "@@ -9,1 +8,0 @@\n-gone\n")
    assert post_shown(text, "f.c") == (range(1, 4),)
    assert pre_shown(text, "f.c") == (range(1, 4), range(9, 10))


def test_a_new_and_a_deleted_file() -> None:
    text = ("--- /dev/null\n+++ b/new.c\n@@ -0,0 +1,2 @@\n+int a;\n+int b;\n"
            "--- a/old.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-int c;\n")
    assert post_image(text, "new.c") == "int a;\nint b;\n"
    assert pre_image(text, "new.c") == ""
    assert pre_image(text, "old.c") == "int c;\n" and post_image(text, "old.c") == ""


@pytest.mark.parametrize("text, message", [
    ("--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n a\n-b\n+c\ndiff --git a/g.c b/g.c\n",
     ("p:7: expected a line of the hunk at line 3 starting with ' ', '+' or '-' (1 line of the old side and "
      "1 line of the new side to go), found 'd'")),
    ("--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n a\n b\n-c\n+d\n",
     "p:6: a hunk line after the end of the hunk at line 3 (-2 +2 lines); expected the header's counts to cover it"),
    ("--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,1 @@\n a\n+b\n",
     "p:5: the hunk at line 3 has more lines of the new side than its header's count (1); expected a '-' line"),
    ("--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n a\n*b\n",
     ("p:5: expected a line of the hunk at line 3 starting with ' ', '+' or '-' (1 line of the old side and "
      "1 line of the new side to go), found '*'")),
    ("A message\n@@ -1,1 +1,1 @@\n-a\n+b\n",
     "p:2: a hunk before any file header; expected '--- a/FILE' and '+++ b/FILE' first"),
    ("--- a/f.c\n+++ b/f.c\n@@ -1,x +1 @@\n",
     "p:3: expected a hunk header '@@ -START,COUNT +START,COUNT @@'"),
    ("--- a/f.c\n+++ b/f.c\n@@ -1,3 +1,3 @@\n a\n",
     "p:4: the patch ends inside the hunk at line 3; expected 2 lines of the old side and 2 lines of the new side more"),
    ("--- a/f.c\n+++ b/f.c\n@@ -5,1 +5,1 @@\n a\n@@ -1,1 +1,1 @@\n b\n",
     "p:5: the hunk overlaps or precedes the hunk at line 3; expected hunks in file order"),
    ("--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n a\n--- a/f.c\n+++ b/f.c\n",
     "p:5: a second diff of f.c (the first begins at line 1); expected one diff per file"),
])
def test_a_malformed_patch_is_refused_at_its_line(text: str, message: str) -> None:
    with pytest.raises(PatchError) as caught:
        patch_files(text, "p")
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_file_the_patch_does_not_change_names_those_it_does() -> None:
    with pytest.raises(PatchError, match=r"^x.patch: the patch does not change mm/c.c; it changes mm/a.c, include/b.h$"):
        post_image(MAIL, "mm/c.c", "x.patch")


def test_a_mail_archive_copy_context_unmarked_and_cut_short() -> None:
    text = "--- a/f.c\n+++ b/f.c\n@@ -1,4 +1,4 @@\nint f(void)\n{\n-\treturn 0;\n+\treturn 1;\n"
    with pytest.raises(PatchError, match="found 'i'"):
        patch_files(text)
    (hunk,) = patch_files(text, mail_copy=True)["f.c"]
    # the copy ends one line short of the counts: the hunk is what is there
    assert hunk == Hunk(1, 3, 1, 3, 3, (" int f(void)", " {", "-\treturn 0;", "+\treturn 1;"))
    assert post_image(text, "f.c", mail_copy=True) == "int f(void)\n{\n\treturn 1;\n"


# ---- the seed patches -----------------------------------------------------------------------

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed"
needs_seed = pytest.mark.skipif(not SEED.is_dir(), reason="../shared/seed is not beside this checkout")
MEMCONTROL = "mm/memcontrol.c"


def _seed(version: str) -> str:
    (path,) = SEED.glob(f"{version}-*.patch.txt")
    return path.read_text(encoding="utf-8")


def _functions(version: str, path: str = MEMCONTROL, new: bool = True):  # type: ignore[no-untyped-def]
    text, mail_copy = _seed(version), version != "v5"
    image, shown = (post_image, post_shown) if new else (pre_image, pre_shown)
    return c_functions(image(text, path, version, mail_copy=mail_copy), path,
                       shown=shown(text, path, version, mail_copy=mail_copy))


@needs_seed
def test_only_v5_is_a_patch_git_would_apply_v1_is_cut_short_and_v2_lost_its_indentation() -> None:
    assert set(patch_files(_seed("v5"), "v5")) == {"include/linux/sched.h", MEMCONTROL}
    with pytest.raises(PatchError, match=r"^v1:184: the patch ends inside the hunk at line 156;"):
        patch_files(_seed("v1"), "v1")
    with pytest.raises(PatchError, match=r"^v2:52: expected a line of the hunk at line 51 .* found 's'"):
        patch_files(_seed("v2"), "v2")


# The functions of mm/memcontrol.c each version's hunks show whole after the patch (read off the
# patches): the rest begin or end in lines no hunk shows.
COMPLETE_AFTER = {
    "v1": {"current_objcg_update", "current_objcg_set_needs_update", "mem_cgroup_fork", "mem_cgroup_exit",
           "mem_cgroup_kmem_attach", "mem_cgroup_attach"},
    "v2": {"current_objcg_update", "mem_cgroup_fork", "mem_cgroup_exit", "mem_cgroup_kmem_attach",
           "mem_cgroup_attach"},
    "v5": {"current_objcg_update", "mem_cgroup_fork", "mem_cgroup_exit", "mem_cgroup_kmem_attach",
           "mem_cgroup_attach"},
}
# ... and those they show in part: a header whose body runs into lines no hunk shows
PARTIAL_AFTER = {
    "v1": {"get_obj_cgroup_from_current", "mem_cgroup_lru_gen_attach"},
    "v2": {"get_obj_cgroup_from_current", "mem_cgroup_lru_gen_attach", "mem_cgroup_can_attach",
           "seq_puts_memcg_tunable"},
    "v5": {"get_obj_cgroup_from_current", "mem_cgroup_lru_gen_attach", "mem_cgroup_can_attach",
           "seq_puts_memcg_tunable"},
}


@needs_seed
@pytest.mark.parametrize("version", ["v1", "v2", "v5"])
def test_the_functions_each_version_shows_whole(version: str) -> None:
    functions = _functions(version)
    assert {name for name, f in functions.items() if f.complete} == COMPLETE_AFTER[version]
    assert {name for name, f in functions.items() if not f.complete} == PARTIAL_AFTER[version]


@needs_seed
def test_v5_current_objcg_update_after_the_patch() -> None:
    update = _functions("v5")["current_objcg_update"]
    assert (update.line, update.end_line) == (3007, 3057)
    texts = [s.text for s in update.statements]
    assert texts[:3] == ["struct mem_cgroup *memcg;", "struct obj_cgroup *old, *objcg = NULL;", "do"]
    assert "old = (struct obj_cgroup *) ((unsigned long)old & ~CURRENT_OBJCG_UPDATE_FLAG);" in texts
    assert texts[-2:] == ["while (!try_cmpxchg(&current->objcg, &old, objcg));", "return objcg;"]
    do, loop_end = update.statements[2], update.statements[-2]
    assert (do.kind, do.depth, do.line) == ("do", 0, 3012)
    assert (loop_end.kind, loop_end.depth, loop_end.line, loop_end.column) == ("do_while", 0, 3054, 4)
    put = texts.index("obj_cgroup_put(objcg);")
    assert texts[put - 1] == "if (unlikely(objcg))" and update.statements[put].depth == 2
    assert texts.index("rcu_read_lock();") < texts.index("rcu_read_unlock();") < texts.index(loop_end.text)


@needs_seed
@pytest.mark.parametrize("version, body", [
    ("v5", "set_bit(CURRENT_OBJCG_UPDATE_BIT, (unsigned long *)&task->objcg);"),
    ("v2", "set_bit(0, (unsigned long *)&current->objcg);"),             # the bug review found
    ("v1", "current_objcg_set_needs_update(task);"),                       # sets the bit on current
])
def test_mem_cgroup_kmem_attach_of_each_version(version: str, body: str) -> None:
    attach = _functions(version)["mem_cgroup_kmem_attach"]
    assert [(s.kind, s.depth, s.text) for s in attach.statements] == [
        ("statement", 0, "struct task_struct *task;"),
        ("statement", 0, "struct cgroup_subsys_state *css;"),
        ("for", 0, "cgroup_taskset_for_each(task, css, tset)"),
        ("statement", 1, body),
    ]


@needs_seed
def test_v5_before_the_patch_shows_get_obj_cgroup_from_current_only_in_part() -> None:
    # hunks 2 and 3 show lines 3001-3006 and 3008-3026 of the old file: the header, the old body
    # without line 3007 and without the closing brace at 3027
    text = _seed("v5")
    assert pre_shown(text, MEMCONTROL)[1:3] == (range(3001, 3007), range(3008, 3027))
    lines = pre_image(text, MEMCONTROL).split("\n")
    assert lines[3004 - 1] == "__always_inline struct obj_cgroup *get_obj_cgroup_from_current(void)"
    assert lines[3013 - 1] == "\t\tif (likely(!memcg) && (!current->mm || (current->flags & PF_KTHREAD)))"
    assert lines[3026 - 1] == "\treturn objcg;"
    before = _functions("v5", new=False)["get_obj_cgroup_from_current"]
    assert not before.complete and [s.text for s in before.statements] == ["struct mem_cgroup *memcg;"]


@needs_seed
def test_without_shown_ranges_a_function_runs_across_lines_no_hunk_shows() -> None:
    # why c_functions takes `shown`: the braces of the gap-filled image happen to balance
    text = _seed("v5")
    unsplit = c_functions(post_image(text, MEMCONTROL), MEMCONTROL)["get_obj_cgroup_from_current"]
    assert unsplit.complete and unsplit.end_line > 6000
    assert not _functions("v5")["get_obj_cgroup_from_current"].complete


@needs_seed
def test_v1_header_helpers_are_whole_in_include_linux_memcontrol_h() -> None:
    functions = _functions("v1", "include/linux/memcontrol.h")
    assert {name for name, f in functions.items() if f.complete} == {
        "current_objcg_needs_update", "current_objcg_without_update_flag"}
