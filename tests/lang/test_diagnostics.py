"""Bad input: `file:line:col: error: ...`, the source line, a caret; exit status 2; no traceback."""

from __future__ import annotations

import pytest

from conftest import assert_diagnostic, column_of, dedent, line_of


def check(models, text, needle, phrase, *argv, name="m.dsl", at=None):
    """Run a bad model; the diagnostic must point at `needle` (or at `at` = (line, col))."""
    run = models.run(text, *argv, name=name)
    line, col = at if at is not None else (line_of(text, needle), column_of(text, needle))
    source = dedent(text).splitlines()[line - 1]
    return assert_diagnostic(run, name, line, col, phrase, source)


# ---- syntax --------------------------------------------------------------------------------


def test_missing_semicolon(models):
    text = """
        shared word x = 0;
        thread T {
          x = 1
        }
    """
    msg = check(models, text, "}", "syntax error: unexpected '}'", at=(4, 1))
    assert msg.endswith("expected ';'")


def test_missing_parenthesis(models):
    text = """
        thread T {
          if x == 1) { }
        }
    """
    msg = check(models, text, "x ==", "syntax error: unexpected 'x'")
    assert msg.endswith("expected '('")


def test_incomplete_expression(models):
    text = """
        shared word x = 0;
        thread T { x = (1 + ; }
    """
    msg = check(models, text, "; }", "syntax error: unexpected ';'")
    assert "expected" in msg and "a name" in msg and "a number" in msg


def test_unexpected_character(models):
    check(models, "thread T { @ }\n", "@", "syntax error: unexpected character '@'")


def test_unexpected_end_of_file(models):
    text = "shared word x = 0;\nthread T {\n  x = 1;\n"
    models.write(text)
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 3, 9, "syntax error: unexpected end of file; expected", "  x = 1;")


def test_bad_octal_literal(models):
    check(models, "thread T { word v = 099; }\n", "099", "invalid number '099'")


def test_shift_operators_parse(models):
    # `<<` and `>>` once lexed as two `<` / `>`: a model using them must not be a syntax error
    run = models.run("""
        shared word x = 1 << 3;
        thread T { word v = x; x = v >> 1; }
    """)
    assert run.rc == 0, run.err


# ---- names, arity, types -----------------------------------------------------------------------


def test_unknown_name(models):
    check(models, "thread T { word v = y; }\n", "y;", "unknown name 'y'")


def test_unknown_procedure(models):
    check(models, "thread T { frob(1); }\n", "frob", "unknown procedure or builtin 'frob'")


def test_unknown_procedure_names_the_closest_builtins(models):
    text = """
        shared word x = 0;
        proc void release_obj() { }
        thread T {
          word v = atomic_fetch_addd(1, &x);
          atomic_inc_retrun(&x);
          relase_obj();
        }
    """
    run = models.run(text)
    assert run.rc == 2
    assert run.err.startswith("m.dsl:4:12: error: unknown procedure or builtin 'atomic_fetch_addd'\n")
    assert run.err.count("note: did you mean") == 3
    assert "note: did you mean 'atomic_fetch_add'?\n" in run.err
    assert "note: did you mean 'atomic_inc_return'?\n" in run.err
    assert "note: did you mean 'release_obj'?\n" in run.err
    # nothing close: no guess
    far = models.run("thread T { frob(1); }\n")
    assert "did you mean" not in far.err


def test_unknown_field(models):
    text = """
        struct S { word f; };
        object struct S o;
        thread T { word v = o.g; }
    """
    check(models, text, "o.g", "struct S has no field 'g' (its fields: f)")


@pytest.mark.parametrize("call, phrase", [
    ("word v = READ_ONCE(x, 1);", "'READ_ONCE' takes 1 argument(s), 2 given"),
    ("put();", "'put' takes 1 argument(s), 0 given"),
    ("assert();", "'assert' takes 1 or 2 argument(s), 0 given"),
    ("rcu_read_lock(1);", "'rcu_read_lock' takes 0 argument(s), 1 given"),
    ("word v = cmpxchg(&x, 1);", "'cmpxchg' takes 3 argument(s), 2 given"),
])
def test_builtin_arity(models, call, phrase):
    text = f"""
        shared word x = 0;
        thread T {{ {call} }}
    """
    needle = call.split("= ")[-1] if "= " in call else call
    check(models, text, needle, phrase)


def test_procedure_arity(models):
    text = """
        proc void f(word a) { }
        thread T { f(1, 2); }
    """
    check(models, text, "f(1, 2)", "procedure 'f' takes 1 argument(s), 2 given")


def test_refcount_op_on_non_refcounted_object(models):
    text = """
        struct S { word f; };
        object struct S o;
        thread T { get(&o); }
    """
    check(models, text, "&o", "'get' on a non-refcounted object: struct S is not declared 'refcounted'")


def test_two_shared_accesses_in_one_statement(models):
    text = """
        shared word x = 0;
        shared word y = 0;
        thread T { x = y; }
    """
    run = models.run(text)
    assert_diagnostic(run, "m.dsl", 3, column_of(text, "x = y"), "this statement makes 2 shared accesses (y, x)",
                      "thread T { x = y; }")
    assert "atomic { }" in run.err


def test_shared_read_modify_write_needs_atomic(models):
    text = """
        shared word x = 0;
        thread T { x++; }
    """
    check(models, text, "x++", "makes 2 shared accesses (x, x)")


def test_writing_a_const_field(models):
    text = """
        struct S { const word k; };
        object struct S o = { .k = 1 };
        thread T { o.k = 2; }
    """
    check(models, text, "o.k", "field 'k' of struct S is declared const and cannot be written")


def test_current_in_a_thread_without_one(models):
    text = """
        struct task { word f; };
        object struct task t1;
        thread A (current = &t1) { word v = current->f; }
        thread B { word v = current->f; }
    """
    check(models, text, None, "'current' is only defined in a thread declared with '(current = &task)'", at=(4, 21))


def test_current_in_a_procedure_called_from_a_thread_without_one(models):
    text = """
        struct task { word f; };
        object struct task t1;
        proc word getf(void) {
          return current->f;
        }
        thread A (current = &t1) { word v = getf(); }
        thread B { word v = getf(); }
    """
    check(models, text, "current->f", "'current' is used in thread B, which names no task")


def test_break_outside_a_loop(models):
    check(models, "thread T { break; }\n", "break;", "'break' outside a loop")


def test_continue_outside_a_loop(models):
    text = """
        proc void f(void) { continue; }
        thread T { f(); }
    """
    check(models, text, "continue;", "'continue' outside a loop")


def test_recursion(models):
    text = """
        proc void f(void) { g(); }
        proc void g(void) { f(); }
        thread T { f(); }
    """
    check(models, text, "proc void f", "recursion is not supported: f -> g -> f")


def test_loop_inside_atomic(models):
    text = """
        shared word x = 0;
        thread T { atomic { while (x) { } } }
    """
    check(models, text, "while", "loops are not allowed inside an atomic block")


def test_constant_index_out_of_bounds(models):
    text = """
        shared word a[2];
        thread T { word v = a[5]; }
    """
    check(models, text, "5]", "index 5 is out of bounds for 'a[2]'")


# ---- files and includes ------------------------------------------------------------------------


def test_missing_file(models):
    run = models.cli("nosuch.dsl")
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    assert run.err.splitlines()[0] == "nosuch.dsl: error: cannot open 'nosuch.dsl': no such file"


def test_directory_instead_of_file(models):
    (models.root / "dir.dsl").mkdir()
    run = models.cli("dir.dsl")
    assert run.rc == 2 and "Traceback" not in run.err
    assert run.err.startswith("dir.dsl: error: cannot open 'dir.dsl': it is a directory")


def test_empty_file(models):
    models.write("")
    run = models.cli("m.dsl")
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    assert run.err.startswith("m.dsl:1:1: error: the model file is empty")


def test_file_without_threads(models):
    check(models, "// only a comment\n", "//", "the model declares no thread")


def test_missing_include(models):
    text = """
        shared word x = 0;
        include "lib/missing.dsl";
        thread T { }
    """
    check(models, text, "include", "cannot open 'lib/missing.dsl': no such file")


def test_error_inside_an_included_file(models):
    models.write("shared word x = 0;\nproc void f(void) { x = y; }\n", "lib/common.dsl")
    run = models.run('include "lib/common.dsl";\nthread T { f(); }\n')
    assert_diagnostic(run, "lib/common.dsl", 2, 25, "unknown name 'y'", "proc void f(void) { x = y; }")


def test_include_cycle(models):
    models.write('include "b.dsl";\nthread T { }\n', "a.dsl")
    models.write('include "a.dsl";\n', "b.dsl")
    run = models.cli("a.dsl")
    assert_diagnostic(run, "b.dsl", 1, 1, "include cycle", 'include "a.dsl";')


def test_include_of_itself(models):
    check(models, 'include "m.dsl";\nthread T { }\n', "include", "include cycle")


# ---- params, bound -----------------------------------------------------------------------


PARAM_MODEL = """
param N = 1;
shared word x = 0;
thread T { x = N; }
"""


def test_define_of_an_unknown_param(models):
    run = models.run(PARAM_MODEL, "-D", "M=3")
    assert run.rc == 2 and "Traceback" not in run.err and run.out == ""
    first = run.err.splitlines()[0]
    assert first.endswith(".dsl: error: -D M: the model has no param named 'M' (its params: N)")
    assert not first.startswith("<command line>")   # it names the model that lacks the param


@pytest.mark.parametrize("define, phrase", [
    ("N", "-D N: expected NAME=VALUE"),
    ("N=abc", "-D N=abc: 'abc' is not an integer"),
    ("3N=1", "-D 3N=1: expected NAME=VALUE"),
    ("=1", "-D =1: expected NAME=VALUE"),
])
def test_malformed_define(models, define, phrase):
    run = models.run(PARAM_MODEL, "-D", define)
    assert run.rc == 2 and "Traceback" not in run.err and run.out == ""
    assert run.err.startswith(f"objcg-prove: error: {phrase}")


@pytest.mark.parametrize("bound, phrase", [
    ("0", "--bound 0: the bound must be at least 1"),
    ("-1", "--bound -1: the bound must be at least 1"),
    ("two", "--bound two: expected a positive integer"),
])
def test_bad_bound_option(models, bound, phrase):
    run = models.run(PARAM_MODEL, "--bound", bound)
    assert run.rc == 2 and "Traceback" not in run.err and run.out == ""
    assert run.err.startswith(f"objcg-prove: error: {phrase}")


def test_bound_too_large(models):
    run = models.run(PARAM_MODEL, "--bound", "65")
    assert run.rc == 2 and "Traceback" not in run.err
    assert "the bound 65 is larger than the maximum 64" in run.err


def test_bound_zero_in_the_model(models):
    text = "bound 0;\n" + dedent(PARAM_MODEL)
    check(models, text, None, "the bound must be at least 1, not 0", at=(1, 7))


def test_bound_declared_twice(models):
    text = "bound 1;\nbound 2;\n" + dedent(PARAM_MODEL)
    check(models, text, "bound 2", "'bound' is declared more than once")


# ---- duplicates ----------------------------------------------------------------------------------


def test_duplicate_shared_variable(models):
    text = """
        shared word x = 0;
        shared word x = 1;
        thread T { }
    """
    run = models.run(text)
    msg = assert_diagnostic(run, "m.dsl", 2, 13, "'x' is already declared", "shared word x = 1;")
    assert "note: the first declaration is at m.dsl:1:13" in run.err
    assert msg == "'x' is already declared"


@pytest.mark.parametrize("decls, needle, phrase", [
    ("proc void p(void) { }\nproc void p(void) { }", "proc void p(void) { }", "'p' is already declared"),
    ("struct S { word f; };\nstruct S { word g; };", "struct S { word g; }", "struct 'S' is already declared"),
    ("struct S { word f; word f; };", "word f; }", "struct S already has a field 'f'"),
    ("const A = 1;\nparam A = 2;", "param A", "'A' is already declared"),
    ("thread U { }\nthread U { }", None, "'U' is already declared"),
])
def test_duplicate_declarations(models, decls, needle, phrase):
    text = decls + "\nthread T { }\n"
    lines = text.splitlines()
    if needle is None:
        at = (2, 1)
    else:
        line = max(i for i, l in enumerate(lines) if needle in l) + 1
        at = (line, lines[line - 1].index(needle) + 1)
    check(models, text, needle, phrase, at=at)


def test_duplicate_local(models):
    check(models, "thread T { word a = 1; word a = 2; }\n", "a = 2", "'a' is already declared in this block")


def test_diagnostics_come_in_source_order(models):
    text = """
        struct S { word f; word f; };
        proc void p(void) { }
        proc void p(void) { }
        thread T { word v = nope; }
    """
    run = models.run(text)
    assert run.rc == 2
    heads = [l.split(": error:")[0] for l in run.err.splitlines() if ": error:" in l]
    assert heads == ["m.dsl:1:20", "m.dsl:3:1", "m.dsl:4:21"]


# ---- the final block (docs/semantics.md, "End-of-run checks") --------------------------------

FINAL_BASE = """
    refcounted struct obj { word x; };
    struct plain { word f; };
    object struct obj o;
    object struct plain q;
    shared word x = 0;
    shared word a[2];
    shared struct plain *pp = &q;
    proc void f(void) { x = 3; }
    thread T { x = 2; kill(&o); }
"""


@pytest.mark.parametrize("body, needle, phrase", [
    ("x = 1;", "x = 1;", "a 'final' block holds only 'assert(c)', 'assert(c, \"label\")' and 'holds(p)'"),
    ("f();", "f();", "a 'final' block holds only"),
    ("word v = x;", "word v", "a 'final' block holds only"),
    ("get(&o);", "get(&o);", "a 'final' block holds only"),
    ("await(x == 2);", "await(", "a 'final' block holds only"),
    ("if (x) assert(1);", "if (x)", "a 'final' block holds only"),
    ("assert(y == 1);", "y == 1", "unknown name 'y'"),
    ("assert(pp->f == 1);", "pp->f", "'->' in a 'final' block"),
    ("assert(a[x] == 1);", "a[x]", "a variable index in a 'final' block"),
    ("assert(nondet(2));", "nondet(2)", "'nondet' in a 'final' block"),
    ("assert(xchg(&x, 1) == 0);", "xchg(", "'xchg' in a 'final' block: a final check reads the memory at the end"),
    ("assert(tryget(&o));", "tryget(", "'tryget' in a 'final' block: only 'refcount(&obj)'"),
    ("assert(current == NULL);", "current ==", "a 'final' block runs in no thread: it has no 'current'"),
    ("assert(x / 2 == 1);", "x / 2", "'/' in a 'final' block"),
    ("assert(x % 2 == 1);", "x % 2", "'%' in a 'final' block"),
    ("holds(pp);", "pp);", "'holds' of a pointer to struct plain, which is not refcounted"),
    ("holds(&o, &o);", "holds(", "'holds' takes 1 argument(s), 2 given"),
    ("assert(x, 3);", "3)", "the second argument of 'assert' must be a string label"),
])
def test_misuse_of_the_final_block(models, body, needle, phrase):
    text = FINAL_BASE + f"    final {{\n        {body}\n    }}\n"
    check(models, text, needle, phrase)


def test_two_final_blocks(models):
    text = FINAL_BASE + "    final { assert(x == 2); }\n    final { holds(&o); }\n"
    check(models, text, "final { holds", "a model has at most one 'final' block")
    assert "note: the first one is at m.dsl:10:1; put every end-of-run check in it" in models.run(text).err


def test_holds_in_a_thread(models):
    text = FINAL_BASE + "    thread U { holds(&o); }\n"
    check(models, text, "holds(&o)", "'holds' is only allowed in the 'final' block")


def test_holds_without_a_refcounted_object(models):
    text = """
        struct plain { word f; };
        object struct plain q;
        thread T { q.f = 1; }
        final { holds(&q); }
    """
    check(models, text, "holds(&q)", "'holds' in a model without an object of a refcounted struct")


def test_every_misuse_of_a_final_block_is_reported_at_once(models):
    text = FINAL_BASE + "    final {\n        x = 1;\n        assert(nondet(2));\n    }\n"
    run = models.run(text)
    assert run.rc == 2
    assert run.err.count("error:") == 2
# ---- array fields, per-element initialisers, local arrays ----------------------------------

ARRAYS = """
    struct obj_cgroup { word id; };
    struct mem_cgroup { struct obj_cgroup *objcgs[2]; word counts[3]; word plain; };
    object struct obj_cgroup objcg_A;
    object struct mem_cgroup memcg_A;
    object struct mem_cgroup ms[2];
"""


@pytest.mark.parametrize("decls, body, needle, phrase", [
    ("", "word x = memcg_A.counts[3];", "3]; }", "index 3 is out of bounds for 'counts[3]'"),
    ("", "struct mem_cgroup *m = &memcg_A; m->objcgs[2] = NULL;", "2] = NULL", "index 2 is out of bounds for 'objcgs[2]'"),
    ("", "word x = memcg_A.counts;", "memcg_A.counts", "'counts' is an array field of struct mem_cgroup: index it"),
    ("", "word x = memcg_A.plain[0];", "memcg_A.plain[0]", "field 'plain' of struct mem_cgroup is not an array"),
    ("", "word x = memcg_A.counts[0][1];", "memcg_A.counts[0][1]", "only shared arrays, object arrays, array fields and local arrays can be indexed"),
    ("", "word seen[2]; word x = seen[2];", "2]; }", "index 2 is out of bounds for 'seen[2]'"),
    ("", "word seen[2]; word x = seen;", "seen;", "'seen' is a local array: index it"),
    ("", "word seen[2]; seen = 1;", "seen = 1", "'seen' is a local array: assign its elements"),
    ("", "word seen[2] = {1, 2, 3};", "3}", "too many initializers for 'seen[2]'"),
    ("", "word seen[0];", "0]", "a local array needs 1 to 64 elements, not 0"),
    ("shared word x = 0;", "word seen[2]; word v = seen[x];", "x];", "the index of local array 'seen' must not access shared memory"),
    ("", "word seen[2]; word v = seen[nondet(2)];", "nondet(2)]", "the index of local array 'seen' must not access shared memory or choose"),
    ("", "word seen[2]; xchg(&seen[0], 1);", "seen[0], 1", "'seen' is a local array, not shared state"),
    ("", "word seen[2]; word ok = try_cmpxchg(&memcg_A.counts[0], &seen, 1);", "&seen", "must be the address of a local variable"),
    ("", "word x = 1; word y = x[0];", "x[0]", "only shared arrays, object arrays, array fields and local arrays can be indexed"),
])
def test_array_misuse(models, decls, body, needle, phrase):
    text = ARRAYS + f"    {decls}\n    thread T {{ {body} }}\n"
    check(models, text, needle, phrase)


@pytest.mark.parametrize("decl, needle, phrase", [
    ("struct bad { word w[65]; };", "65]", "an array field needs 1 to 64 elements, not 65"),
    ("struct bad { const word w[2]; };", "const word w[2]", "array field 'w' cannot be const"),
    ("struct bad { word w[2][2]; };", "[2]; };", "syntax error: unexpected '['"),
    ("object struct mem_cgroup m2 = { .objcgs = { &objcg_A, &objcg_A, &objcg_A } };", "&objcg_A }",
     "too many initializers for 'objcgs[2]'"),
    ("object struct mem_cgroup m2 = { .plain = { 1 } };", ".plain", "field 'plain' of struct mem_cgroup is not an array"),
    ("object struct mem_cgroup m2 = { [0] = { .plain = 1 } };", "[0]", "'m2' is not an array of objects"),
    ("object struct mem_cgroup m2[2] = { [2] = { .plain = 1 } };", "2] = { .plain", "index 2 is out of bounds for 'm2[2]'"),
    ("object struct mem_cgroup m2[2] = { [1] = { .plain = 1 }, [1] = { .plain = 2 } };", "1] = { .plain = 2",
     "element [1] of 'm2' is initialised twice"),
    ("object struct mem_cgroup m2[2] = { [0] = { .nope = 1 } };", ".nope", "struct mem_cgroup has no field 'nope'"),
])
def test_array_declaration_misuse(models, decl, needle, phrase):
    text = ARRAYS + f"    {decl}\n    thread T {{ }}\n"
    check(models, text, needle, phrase)


def test_arrays_of_arrays_are_refused_with_a_note(models):
    run = models.run("thread T { word s[2][2]; }\n")
    assert run.rc == 2 and "1:21: error: syntax error: unexpected '['" in run.err
    assert "arrays of arrays are not supported" in run.err


POINTERS = """
    refcounted struct obj_cgroup { word id; const word c; };
    struct mem_cgroup { struct obj_cgroup *objcgs[2]; const struct obj_cgroup *fixed; };
    struct page { word flags; };
    object struct obj_cgroup objcg_A;
    object struct mem_cgroup memcg_A;
    object struct page pg;
    shared word w = 0;
    ghost struct obj_cgroup *g = NULL;
"""


@pytest.mark.parametrize("body, needle, phrase", [
    ("struct obj_cgroup *p = &objcg_A; struct obj_cgroup *o = *p;", "p; }", "'*' needs a pointer to a pointer (struct S **), not a struct obj_cgroup *"),
    ("struct obj_cgroup **pp = &memcg_A.objcgs[0]; word x = pp->id;", "pp->id", "'->' needs a pointer to a struct, not a struct obj_cgroup **"),
    ("struct obj_cgroup **pp = &g;", "&g", "the address of a ghost is not a value"),
    ("word *p = &w;", "word *p", "pointers to words are not supported"),
    ("struct obj_cgroup **pp = &w;", "&w", "the address of a word is not a value"),
    ("struct obj_cgroup **pp = &memcg_A.fixed;", "&memcg_A.fixed", "'fixed' is a const field: it has no address"),
    ("word x = 0; struct obj_cgroup **pp = &x;", "&x", "'&' takes an object, or a shared word holding a struct pointer"),
    ("struct obj_cgroup *p = &objcg_A; xchg(p, NULL);", "p, NULL", "'xchg' expects the address of a shared location"),
    ("struct obj_cgroup **pp = &memcg_A.objcgs[0]; get(pp);", "pp);", "'get' needs a pointer to an object of a refcounted struct, not a struct obj_cgroup **"),
    ("struct page **pp = NULL; struct page *p = *pp;", "pp; }", "no shared word holds a 'struct page *'"),
    ("struct obj_cgroup **pp = &memcg_A.objcgs[0]; word x = *pp + *pp;", "x = *pp", "this statement makes 2 shared accesses"),
])
def test_pointer_to_pointer_misuse(models, body, needle, phrase):
    text = POINTERS + f"    thread T {{ {body} }}\n"
    check(models, text, needle, phrase)


def test_three_stars_are_refused(models):
    text = POINTERS + "    thread T { struct obj_cgroup ***ppp = NULL; }\n"
    check(models, text, "*ppp", "a pointer to a pointer to a pointer is not supported")


def test_word_addresses_must_fit_the_word(models):
    # 14 objects, their 14 fields and 2 words: s1 is location 15, at 8 * (14 + 1 + 15) = 240,
    # not below 2^7
    text = """
        width 8;
        struct obj_cgroup { word id; };
        object struct obj_cgroup a[14];
        shared struct obj_cgroup *s0 = NULL, *s1 = NULL;
        thread T { struct obj_cgroup **pp = &s1; }
    """
    check(models, text, "struct obj_cgroup **pp", "the addresses of the model's shared words (up to 240) do not fit in 8-bit words")
