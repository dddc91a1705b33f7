"""drift/c_source.py: kernel C functions as statement lists, and the comparison key.

Every C text here is kernel style: annotations, iterator macros, casts of flagged pointers,
`#ifdef` inside a body; statements are checked as (kind, depth, text) in source order, and
where it matters at their line and column.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from objcg_proof.drift.c_source import (
    BODY_RULES,
    C_LANGUAGE,
    KINDS,
    CFunction,
    CSourceError,
    c_functions,
    c_tokens,
    clean_c,
    closest_names,
    normalize_c,
    read_c_functions,
)


def functions(text: str) -> dict[str, CFunction]:
    return c_functions(textwrap.dedent(text).lstrip("\n"), "mm/x.c")


def flat(function: CFunction) -> list[tuple[str, int, str]]:
    return [(s.kind, s.depth, s.text) for s in function.statements]


# ---- the key ------------------------------------------------------------------------------


def test_blanks_and_comments_never_change_the_key() -> None:
    assert normalize_c("old=xchg(&current->objcg,NULL);") == normalize_c(
        "old = xchg( &current->objcg, /* drop the bit */ NULL );  // atomically") == \
        "old = xchg ( & current -> objcg , NULL ) ;"


@pytest.mark.parametrize("fragment, key", [
    ("} while (!try_cmpxchg(&current->objcg, &old, objcg));",
     "while ( ! try_cmpxchg ( & current -> objcg , & old , objcg ) ) ;"),
    ("if (old) {", "if ( old )"),
    ("} else {", "else"),
    ("}", ""),
    ("x <<= 1; p->n++; f(a, ...);", "x <<= 1 ; p -> n ++ ; f ( a , ... ) ;"),
    ("mask = 0x1UL | 1e-3f | .5;", "mask = 0x1UL | 1e-3f | .5 ;"),
    ('pr_warn("a  b /* c */", \'x\');', 'pr_warn ( "a  b /* c */" , \'x\' ) ;'),
    ("a && !b || c != d", "a && ! b || c != d"),
    ("x = 1; /* cut off", "x = 1 ;"),
])
def test_the_key_of_a_fragment(fragment: str, key: str) -> None:
    assert normalize_c(fragment) == key


def test_tokens_and_the_text_a_reader_sees() -> None:
    assert c_tokens("a->b-->c") == ["a", "->", "b", "--", ">", "c"]
    assert clean_c('old = (struct obj_cgroup *)\n\t\t/* no flag */ ((unsigned long)old & ~FLAG);') == \
        "old = (struct obj_cgroup *) ((unsigned long)old & ~FLAG);"
    assert clean_c('s = "two  blanks";') == 's = "two  blanks";'


def test_closest_names() -> None:
    names = ["current_objcg_update", "get_obj_cgroup_from_current", "mem_cgroup_exit"]
    assert closest_names("current_objcg_updates", names) == ["current_objcg_update"]
    assert closest_names("nothing_alike", names) == []


# ---- functions of kernel C ------------------------------------------------------------------

KERNEL = """
#include <linux/memcontrol.h>

#define CURRENT_OBJCG_UPDATE_BIT 0
#define CURRENT_OBJCG_UPDATE_FLAG (1UL << CURRENT_OBJCG_UPDATE_BIT)
#define objcg_flagged(p) ((unsigned long)(p) & CURRENT_OBJCG_UPDATE_FLAG)

static DEFINE_SPINLOCK(objcg_lock);
static struct obj_cgroup *current_objcg_update(void);
int __must_check obj_cgroup_try_charge(struct obj_cgroup *objcg, gfp_t gfp);

static struct obj_cgroup *current_objcg_update(void)
{
	struct obj_cgroup *old, *objcg = NULL;

	do {
		/* Atomically drop the update bit. */
		old = xchg(&current->objcg, NULL);
		if (old) {
			old = (struct obj_cgroup *)
				((unsigned long)old & ~CURRENT_OBJCG_UPDATE_FLAG);
			if (old)
				obj_cgroup_put(old);

			old = NULL;
		}
		if (unlikely(objcg)) {
			obj_cgroup_put(objcg);
			objcg = NULL;
		}
		rcu_read_lock();
		objcg = __get_obj_cgroup_from_memcg(mem_cgroup_from_task(current));
		rcu_read_unlock();
	} while (!try_cmpxchg(&current->objcg, &old, objcg));

	return objcg;
}

static __always_inline struct obj_cgroup *
objcg_without_flag(struct obj_cgroup *objcg)
{
	return (struct obj_cgroup *)((unsigned long)objcg & ~CURRENT_OBJCG_UPDATE_FLAG);
}

static void __cold mem_cgroup_drain(struct mem_cgroup *root)
{
	struct obj_cgroup __rcu *pos;
	int nid;

	list_for_each_entry(pos, &root->objcg_list, list) {
		if (!pos)
			continue;
		drain(pos);
	}
	for_each_node(nid)
		drain_node(root, nid);
#ifdef CONFIG_MEMCG_KMEM
	obj_cgroup_put(root->objcg);
#else
	root->objcg = NULL;
#endif
}

#ifdef CONFIG_MEMCG_KMEM
static void mem_cgroup_kmem_attach(struct cgroup_taskset *tset)
{
	set_bit(CURRENT_OBJCG_UPDATE_BIT, (unsigned long *)&tset->objcg);
}
#else
static void mem_cgroup_kmem_attach(struct cgroup_taskset *tset) {}
#endif
"""


def test_every_definition_and_nothing_else_is_a_function() -> None:
    found = functions(KERNEL)
    # not the macros, not DEFINE_SPINLOCK, not the prototypes
    assert list(found) == ["current_objcg_update", "objcg_without_flag", "mem_cgroup_drain", "mem_cgroup_kmem_attach"]
    assert all(f.complete and f.file == "mm/x.c" for f in found.values())
    update = found["current_objcg_update"]
    assert (update.line, update.end_line) == (11, 36)
    # `static __always_inline struct obj_cgroup *` on the line before the name
    assert (found["objcg_without_flag"].line, found["objcg_without_flag"].end_line) == (38, 42)


def test_a_do_while_loop_with_its_branches() -> None:
    assert flat(functions(KERNEL)["current_objcg_update"]) == [
        ("statement", 0, "struct obj_cgroup *old, *objcg = NULL;"),
        ("do", 0, "do"),
        ("statement", 1, "old = xchg(&current->objcg, NULL);"),
        ("if", 1, "if (old)"),
        ("statement", 2, "old = (struct obj_cgroup *) ((unsigned long)old & ~CURRENT_OBJCG_UPDATE_FLAG);"),
        ("if", 2, "if (old)"),
        ("statement", 3, "obj_cgroup_put(old);"),
        ("statement", 2, "old = NULL;"),
        ("if", 1, "if (unlikely(objcg))"),
        ("statement", 2, "obj_cgroup_put(objcg);"),
        ("statement", 2, "objcg = NULL;"),
        ("statement", 1, "rcu_read_lock();"),
        ("statement", 1, "objcg = __get_obj_cgroup_from_memcg(mem_cgroup_from_task(current));"),
        ("statement", 1, "rcu_read_unlock();"),
        ("do_while", 0, "while (!try_cmpxchg(&current->objcg, &old, objcg));"),
        ("statement", 0, "return objcg;"),
    ]


def test_positions_and_keys() -> None:
    statements = functions(KERNEL)["current_objcg_update"].statements
    first, do, cast, loop_end = statements[0], statements[1], statements[4], statements[-2]
    assert (first.line, first.column) == (13, 2)
    assert (do.line, do.column) == (15, 2)
    assert (cast.line, cast.column) == (19, 4)              # a statement over two lines: where it starts
    assert (loop_end.line, loop_end.column) == (33, 4)      # at the `while` of `} while (...);`
    assert loop_end.key == normalize_c("} while (!try_cmpxchg(&current->objcg, &old, objcg));")
    assert all(s.key == normalize_c(s.text) and s.kind in KINDS for s in statements)


def test_iterator_macros_preprocessor_lines_and_annotations() -> None:
    drain = functions(KERNEL)["mem_cgroup_drain"]
    assert flat(drain) == [
        ("statement", 0, "struct obj_cgroup __rcu *pos;"),   # the text as written, __rcu and all
        ("statement", 0, "int nid;"),
        ("for", 0, "list_for_each_entry(pos, &root->objcg_list, list)"),
        ("if", 1, "if (!pos)"),
        ("statement", 2, "continue;"),
        ("statement", 1, "drain(pos);"),
        ("for", 0, "for_each_node(nid)"),
        ("statement", 1, "drain_node(root, nid);"),
        ("preproc", 0, "#ifdef CONFIG_MEMCG_KMEM"),
        ("statement", 0, "obj_cgroup_put(root->objcg);"),
        ("preproc", 0, "#else"),
        ("statement", 0, "root->objcg = NULL;"),
        ("preproc", 0, "#endif"),
    ]
    assert drain.complete


def test_of_two_definitions_with_one_name_the_first_is_kept() -> None:
    attach = functions(KERNEL)["mem_cgroup_kmem_attach"]
    assert attach.line == 64 and flat(attach) == [
        ("statement", 0, "set_bit(CURRENT_OBJCG_UPDATE_BIT, (unsigned long *)&tset->objcg);")]


def test_if_else_chains_switch_labels_blocks_and_empty_statements() -> None:
    found = functions("""
        int __init f(int x)
        {
        	if (x == 1)
        		a();
        	else if (x == 2) {
        		b();
        	} else
        		c();
        	switch (x) {
        	case 1:
        		d();
        		fallthrough;
        	default:
        		break;
        	}
        	for (i = 0; i < x; i++)
        		;
        	{
        		e();
        	}
        	goto out;
        out:
        	return 0;
        }
        """)
    assert flat(found["f"]) == [
        ("if", 0, "if (x == 1)"), ("statement", 1, "a();"),
        ("else", 0, "else"), ("if", 0, "if (x == 2)"), ("statement", 1, "b();"),
        ("else", 0, "else"), ("statement", 1, "c();"),
        ("switch", 0, "switch (x)"),
        ("case", 1, "case 1:"), ("statement", 2, "d();"), ("statement", 2, "fallthrough;"),
        ("case", 1, "default:"), ("statement", 2, "break;"),
        ("for", 0, "for (i = 0; i < x; i++)"),
        ("statement", 1, "e();"),
        ("statement", 0, "goto out;"),
        ("label", 0, "out:"), ("statement", 0, "return 0;"),
    ]


def test_a_call_named_for_each_that_is_no_loop_head_stays_a_call() -> None:
    found = functions("""
        int idr_for_each(const struct idr *idr, int (*fn)(int id, void *p, void *data), void *data)
        {
        	return 0;
        }
        void g(void)
        {
        	idr_for_each(&idr, count, NULL);
        	ret = idr_for_each(&idr, count, NULL);
        }
        """)
    assert found["idr_for_each"].complete and flat(found["idr_for_each"]) == [("statement", 0, "return 0;")]
    assert flat(found["g"]) == [("statement", 0, "idr_for_each(&idr, count, NULL);"),
                                ("statement", 0, "ret = idr_for_each(&idr, count, NULL);")]


def test_a_macro_taking_a_block_is_its_head_and_the_block() -> None:
    found = functions("""
        void f(void)
        {
        	scoped_guard(rcu) {
        		x = 1;
        	}
        }
        """)
    assert flat(found["f"]) == [("statement", 0, "scoped_guard(rcu)"), ("statement", 1, "x = 1;")]
    assert found["f"].complete


def test_what_the_grammar_cannot_parse_still_shows_its_statements() -> None:
    found = functions("""
        void f(void)
        {
        	__attribute__((fallthrough));
        	switch (x) {
        	case 1 ... 3:
        		y = 2;
        	}
        }
        """)
    assert flat(found["f"]) == [
        ("statement", 0, "__attribute__((fallthrough));"),   # an ERROR and the empty statement after it
        ("switch", 0, "switch (x)"),
        ("case", 1, "case 1 ... 3:"),                        # GCC's case range holds an ERROR
        ("statement", 2, "y = 2;"),
    ]
    assert not found["f"].complete


def test_a_function_cut_off_by_the_end_of_the_text() -> None:
    found = functions("""
        static int done(void) { return 1; }
        static struct obj_cgroup *
        current_objcg_update(void)
        {
        	struct mem_cgroup *memcg;

        	do {
        		old = xchg(&current->objcg, NULL);
        		if (old) {
        """)
    assert found["done"].complete
    cut = found["current_objcg_update"]
    assert not cut.complete and cut.line == 2
    assert [(s.kind, s.text) for s in cut.statements] == [
        ("statement", "struct mem_cgroup *memcg;"), ("do", "do"),
        ("statement", "old = xchg(&current->objcg, NULL);"), ("if", "if (old)")]


GAPPED = "\n".join([
    "void a(void)",          # 1
    "{",                     # 2
    "\tx = 1;",              # 3: a's closing brace is in the gap (4-6)
    "", "", "",
    "\ty = 2;",              # 7: the end of some other function
    "}",                     # 8
    "void b(void)",          # 9
    "{",
    "\tz = 3;",
    "}",                     # 12
]) + "\n"


def test_shown_ranges_are_parsed_alone() -> None:
    unsplit = c_functions(GAPPED, "f.c")
    assert unsplit["a"].complete and unsplit["a"].end_line == 8     # across the gap: wrong, and complete
    split = c_functions(GAPPED, "f.c", shown=[range(1, 4), range(7, 13)])
    assert not split["a"].complete and [s.text for s in split["a"].statements] == ["x = 1;"]
    assert split["b"].complete and (split["b"].line, split["b"].end_line) == (9, 12)


def test_columns_count_characters() -> None:
    (statement,) = functions("void f(void)\n{\n\t/* é */ x = 1;\n}\n")["f"].statements
    assert (statement.line, statement.column, statement.text) == (3, 10, "x = 1;")


def test_location_is_not_part_of_equality() -> None:
    one = c_functions("void f(void)\n{\n\tx = 1;\n}\n", "a.c")["f"]
    other = c_functions("\n\nvoid f(void) {   x = 1; }\n", "b.c")["f"]
    assert one == other and one.line != other.line


def test_every_statement_kind_and_body_item_of_the_grammar_has_a_rule() -> None:
    statement = C_LANGUAGE.id_for_node_kind("statement", True)
    assert statement is not None
    statement_kinds = {C_LANGUAGE.node_kind_for_id(k) for k in C_LANGUAGE.subtypes(statement)}
    items = {"declaration", "type_definition", "function_definition", "linkage_specification", "preproc_if",
             "preproc_ifdef", "preproc_elif", "preproc_elifdef", "preproc_else", "preproc_include", "preproc_def",
             "preproc_function_def", "preproc_call"}
    assert statement_kinds and statement_kinds | items <= set(BODY_RULES)
    # and every rule names a kind of node the grammar has
    assert all(C_LANGUAGE.id_for_node_kind(kind, True) for kind in BODY_RULES)


# ---- reading files ---------------------------------------------------------------------------


def test_read_c_functions(tmp_path: Path) -> None:
    path = tmp_path / "a.c"
    path.write_text("void f(void)\n{\n\tx = 1;\n}\n", encoding="utf-8")
    (f,) = read_c_functions(path, "mm/a.c").values()
    assert (f.name, f.file) == ("f", "mm/a.c")
    assert read_c_functions(path)["f"].file == str(path)


def test_an_unreadable_or_non_utf8_file_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(CSourceError, match=r"^mm/none.c: cannot read it: no such file$"):
        read_c_functions(tmp_path / "none.c", "mm/none.c")
    with pytest.raises(CSourceError, match=r"^mm/: cannot read it: it is a directory$"):
        read_c_functions(tmp_path, "mm/")
    bad = tmp_path / "bad.c"
    bad.write_bytes(b"void f(void)\n{\n\tx = '\xe9';\n}\n")
    with pytest.raises(CSourceError, match=r"^bad.c:3:7: not UTF-8 text \(byte 0xe9\); kernel sources are UTF-8$"):
        read_c_functions(bad, "bad.c")
