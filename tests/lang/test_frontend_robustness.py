"""The front end under hostile input: numbers that do not fit, undeclared structs, deep nesting,
odd files to include, odd bytes. Each case is bad input (exit 2, `file:line:col`, no traceback)
or a model that works; never a wrong verdict and never a traceback."""

from __future__ import annotations

import pytest

import os
from pathlib import Path

from conftest import DIAG_HEAD, assert_diagnostic, column_of, dedent, line_of
from objcg_proof.lang.diagnostics import MAX_SOURCE_BYTES
from objcg_proof.lang.parser import MAX_NESTING
from objcg_proof.lang.resolve import MAX_INLINED_NESTING


def check(models, text, needle, phrase, *argv, name="m.dsl"):
    """Run a bad model; the diagnostic must point at `needle` on its (only) line."""
    run = models.run(text, *argv, name=name)
    line, col = line_of(text, needle), column_of(text, needle)
    return assert_diagnostic(run, name, line, col, phrase, dedent(text).splitlines()[line - 1])


def usage_error(run, phrase):
    assert run.rc == 2, (run.rc, run.out, run.err)
    assert "Traceback" not in run.err and run.out == ""
    assert run.err.startswith(f"objcg-prove: error: {phrase}"), run.err


REPO = Path(__file__).resolve().parents[2]

PARAM_MODEL = """
    param N = 1;
    shared word x = 0;
    thread T { x = N; }
"""

# ---- -D values: spelled in ASCII decimal or 0x hex, and fitting the model's word ------------------


def test_define_that_would_wrap_is_refused_not_proved(models):
    # ALLOCS=65537 once ran the model with ALLOCS=1 and proved lost_update, violated at ALLOCS=2
    # (the harness's words are 8 bits wide now: 257 would wrap to 1 the same way)
    run = models.cli(str(REPO / "models" / "objcg_v2.dsl"), "-D", "ALLOCS=257")
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    first = run.err.splitlines()[0]
    assert first == "<command line>: error: -D ALLOCS=257: param 'ALLOCS' is a 8-bit word: expected 0 to 255 (0xff)"
    declared = next(n for n, line in enumerate((REPO / "models" / "harness" / "objcg.dsl").read_text().splitlines(), 1)
                    if line.startswith("param ALLOCS"))
    assert "note: 'ALLOCS' is declared at " in run.err and f"harness/objcg.dsl:{declared}:1" in run.err


@pytest.mark.parametrize("value, width", [("65536", 16), ("256", 8), ("0x100", 8), ("0x10000000000000000", 64)])
def test_define_beyond_the_width(models, value, width):
    run = models.run(f"width {width};\n" + dedent(PARAM_MODEL), "-D", f"N={value}")
    assert run.rc == 2 and "Traceback" not in run.err
    assert f"param 'N' is a {width}-bit word" in run.err.splitlines()[0]


@pytest.mark.parametrize("value", ["255", "0xff", "0XFF", "0"])
def test_define_that_fits_is_taken(models, value):
    run = models.run("width 8;\n" + dedent(PARAM_MODEL), "-D", f"N={value}", "--json")
    assert run.rc == 0, run.err


@pytest.mark.parametrize("value", ["-1", "+1", "१", "1_0", "0o7", "0b1", " 1", "1 ", "1\n", "010", "1u", "", "0x", "1" * 41])
def test_define_not_plain_decimal_or_hex(models, value):
    run = models.run(PARAM_MODEL, "-D", f"N={value}")
    usage_error(run, f"-D N={value}: '{value}' is not an integer")


@pytest.mark.parametrize("argv, phrase", [
    (["--timeout", "inf"], "--timeout inf: expected a positive number of seconds"),
    (["--timeout", "nan"], "--timeout nan: expected a positive number of seconds"),
    (["--timeout", "-1"], "--timeout -1: expected a positive number of seconds"),
    (["--timeout", "4294967.297"], "--timeout 4294967.297: the solver's limit is at most 4294967.295 seconds"),
    (["--rlimit", "-1"], "--rlimit -1: expected a whole number"),
    (["--rlimit", "4294967296"], "--rlimit 4294967296: expected 0 (no limit) to 4294967295"),
    (["--rlimit", "१"], "--rlimit १: expected a whole number"),
    (["--bound", "1_0"], "--bound 1_0: expected a positive integer"),
    (["--bound", "१"], "--bound १: expected a positive integer"),
    (["--jobs", " 2"], "--jobs  2: expected a positive integer"),
])
def test_numeric_options_out_of_range_or_odd(models, argv, phrase):
    usage_error(models.run(PARAM_MODEL, *argv), phrase)


def test_largest_timeout_is_accepted(models):
    assert models.run(PARAM_MODEL, "--timeout", "4294967.295").rc == 0


def test_huge_bound_option_is_refused(models):
    run = models.run(PARAM_MODEL, "--bound", "0x10000000000000001")
    assert run.rc == 2 and "the bound 18446744073709551617 is larger than the maximum" in run.err


# ---- numbers in the source -----------------------------------------------------------------------


def test_literal_beyond_the_width(models):
    text = """
        width 8;
        shared word x = 0;
        thread T { x = 256; }
    """
    check(models, text, "256", "the number 256 does not fit in 8-bit words (0 to 0xff)")


@pytest.mark.parametrize("decl", ["const C = 0x10000;", "shared word y = 65536;", "param P = 99999;"])
def test_literal_beyond_the_width_in_declarations(models, decl):
    text = f"""
        {decl}
        shared word x = 0;
        thread T {{ x = 1; }}
    """
    number = decl.split("=")[1].strip(" ;")
    check(models, text, number, "does not fit in 16-bit words")


def test_computed_values_wrap_like_c(models):
    # -1, ~0 and 0xFFFF + 1 are computed, not written: they wrap like C unsigned arithmetic
    run = models.run("""
        const ALL = ~0;
        const MINUS = -1;
        const ZERO = 0xFFFF + 1;
        shared word x = 0;
        thread T { x = ALL; assert(x == MINUS && ZERO == 0); }
    """)
    assert run.rc == 0, run.err


def test_width_wider_than_16_keeps_wide_constants(models):
    # constants were once read at the default 16 bits before the model's `width` was known
    run = models.run("""
        const BIG = 0x10000;
        width 32;
        shared word x = 0;
        thread T { x = BIG; assert(x != 0); }
    """)
    assert run.rc == 0, run.err


@pytest.mark.parametrize("decl, phrase", [
    ("shared word a[65537];", "a shared array needs 1 to 64 elements, not 65537"),
    ("shared word a[0x10000 + 1];", "a shared array needs 1 to 64 elements, not 65537"),
    ("shared word a[-1];", "a shared array needs 1 to 64 elements, not -1"),
    ("shared word a[1 << 200];", "far out of range"),
    ("shared word a[1 << -1];", "a shift by a negative amount"),
    ("object struct S a[65537];", "an object array needs 1 to 64 elements, not 65537"),
])
def test_sizes_are_not_wrapped(models, decl, phrase):
    run = models.run(f"struct S {{ word f; }};\n{decl}\nshared word x = 0;\nthread T {{ x = 1; }}\n")
    assert run.rc == 2 and "Traceback" not in run.err, run.err
    assert phrase in run.err and run.err.startswith("m.dsl:2:"), run.err


@pytest.mark.parametrize("decl, phrase", [
    ("width 65600;", "word width must be between 8 and 64 bits, not 65600"),
    ("bound 65537;", "the bound 65537 is larger than the maximum 64"),
    ("bound -1;", "the bound must be at least 1, not -1"),
])
def test_width_and_bound_are_not_wrapped(models, decl, phrase):
    run = models.run(f"{decl}\nshared word x = 0;\nthread T {{ x = 1; }}\n")
    assert run.rc == 2 and "Traceback" not in run.err, run.err
    assert run.err.startswith("m.dsl:1:") and phrase in run.err, run.err


def test_too_many_objects_is_blamed_on_the_declaration(models):
    text = """
        width 8;
        struct S { word f; };
        object struct S a[8];
        object struct S b[8];
        shared word x = 0;
        thread T { x = 1; }
    """
    check(models, text, "b[8]", "16 objects do not fit in 8-bit words")


# ---- undeclared structs -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, needle", [
    ("shared struct S *p;\nthread A { word x = p->f; }\n", "p->f"),
    ("shared word q;\nthread A { word x = ((struct S *)q)->f; }\n", "(struct S *)q)"),
    ("struct T { struct S *s; };\nobject struct T t;\nthread A { word x = t.s->f; }\n", "t.s->f"),
    ("shared struct S *p;\nthread A { p->f = 1; }\n", "p->f"),
    ("proc struct S *g(void) { return NULL; }\nthread A { struct S *p = g(); word x = p->f; }\n", "p->f;"),
])
def test_undeclared_struct_through_a_pointer(models, text, needle):
    run = models.run(text)
    line = line_of(text, needle)
    assert_diagnostic(run, "m.dsl", line, column_of(text, needle), "not declared")
    assert "unknown struct 'S'" in run.err


def test_an_object_redeclared_with_an_unknown_struct(models):
    # the layout looked the second declaration's struct up by name: KeyError: 'o', exit 4
    text = ("refcounted struct obj { word x; };\nobject struct obj o;\nobject struct o o;\n"
            "thread T { get(&o); put(&o); }\n")
    run = models.run(text)
    assert_diagnostic(run, "m.dsl", 3, 17, "'o' is already declared")
    assert_diagnostic(run, "m.dsl", 3, 17, "unknown struct 'o'")


@pytest.mark.parametrize("text, needle, what", [
    ("struct S { word f; };\nshared struct S *p = NULL;\nthread T { struct S *q = p; word v = q->f; }\n", "q->f", "'->f'"),
    ("struct S { word f; };\nshared struct S *p = NULL;\nthread T { struct S *q = p; q->f = 1; }\n", "q->f", "'->f'"),
    ("struct S { const word f; };\nshared struct S *p = NULL;\nthread T { struct S *q = p; word v = q->f; }\n", "q->f", "'->f'"),
    ("refcounted struct S { word f; };\nshared struct S *p = NULL;\nthread T { struct S *q = p; put(q); }\n", "q);", "put()"),
])
def test_pointer_to_a_struct_without_objects(models, text, needle, what):
    # every access through it would fail; the unroller once crashed on it (IndexError)
    run = models.run(text)
    assert_diagnostic(run, "m.dsl", line_of(text, needle), column_of(text, needle), f"{what} through a 'struct S *'")
    assert "no object of struct S is declared" in run.err


# ---- files that are not model files -----------------------------------------------------------------


def included(models, target, phrase):
    """`include "<target>";` is refused at the include, with `phrase`."""
    text = f'include "{target}";\nshared word x = 0;\nthread T {{ x = 1; }}\n'
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    return assert_diagnostic(run, "m.dsl", 1, 1, phrase, text.splitlines()[0])


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_include_of_a_device_is_refused_unread(models, target):
    included(models, target, f"cannot open '{target}': it is not a regular file")


def test_include_of_a_fifo_is_refused_without_waiting(models):
    os.mkfifo(models.root / "pipe")   # nobody writes to it: reading it would wait forever
    included(models, "pipe", "cannot open 'pipe': it is not a regular file")


def test_include_of_a_directory(models):
    (models.root / "lib").mkdir()
    included(models, "lib", "cannot open 'lib': it is a directory")


def test_include_of_a_symlink_loop(models):
    os.symlink("loop2", models.root / "loop1")
    os.symlink("loop1", models.root / "loop2")
    included(models, "loop1", "cannot open 'loop1': too many levels of symbolic links")


def test_include_with_a_nul_byte(models):
    text = 'include "a\0b";\nthread T { }\n'
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    msg = assert_diagnostic(run, "m.dsl", 1, 1, "the file name contains a NUL byte")
    assert msg.startswith("cannot open 'a\\x00b'") and "\0" not in run.err


def test_include_cycle_through_a_symlink(models):
    models.write('include "alias.dsl";\nthread T { }\n')
    os.symlink("m.dsl", models.root / "alias.dsl")
    included(models, "alias.dsl", "include cycle")


def test_includes_nested_too_deep(models):
    for i in range(40):
        models.write(f'include "i{i + 1}.dsl";\n', name=f"i{i}.dsl")
    models.write("thread T { }\n", name="i40.dsl")
    run = models.cli("i0.dsl")
    assert_diagnostic(run, "i31.dsl", 1, 1, "includes nested more than 32 deep", 'include "i32.dsl";')


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_model_named_on_the_command_line_that_is_a_device(models, path):
    run = models.cli(path)
    assert run.rc == 2 and "Traceback" not in run.err
    assert run.err.startswith(f"{path}: error: cannot open '{path}': it is not a regular file"), run.err


def test_model_file_larger_than_the_cap(models):
    with open(models.root / "big.dsl", "wb") as f:
        f.truncate(MAX_SOURCE_BYTES + 1)   # sparse: nothing is written
    run = models.cli("big.dsl")
    assert run.rc == 2 and "Traceback" not in run.err
    assert run.err.startswith("big.dsl: error: cannot open 'big.dsl': it is larger than 16 MiB"), run.err


# ---- where a diagnostic points ----------------------------------------------------------------------


def test_non_utf8_byte_has_its_line_and_column(models):
    (models.root / "nonutf8.dsl").write_bytes("shared word x;\n// é\nthread T { x = 1; \xff }\n".encode("latin-1"))
    run = models.cli("nonutf8.dsl")
    # the é of line 2 is latin-1 too, so the first bad byte is there: line 2, column 4
    msg = assert_diagnostic(run, "nonutf8.dsl", 2, 4, "not UTF-8 text (byte 0xe9)")
    assert msg.startswith("cannot read 'nonutf8.dsl'")


def test_non_utf8_column_counts_characters(models):
    (models.root / "m.dsl").write_bytes("shared word x; // ü\nthread T { x = 1; } // ü \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 2, 26, "not UTF-8 text (byte 0xff)", "thread T { x = 1; } // ü \ufffd")


@pytest.mark.parametrize("odd", ["\f", "\u2028", "\r", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2029"])
def test_odd_line_breaks_do_not_shift_the_caret(models, odd):
    # lark ends lines at '\n' only; the caret line once came from str.splitlines()
    text = f"shared word x = 0; // odd{odd}line\nthread T {{ x = y; }}\n"
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 2, 16, "unknown name 'y'", "thread T { x = y; }")


def test_odd_line_break_in_the_caret_line_keeps_the_column(models):
    text = "shared word x = 0;\nthread T {\f x = y; }\n"
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 2, 17, "unknown name 'y'", "thread T {  x = y; }")


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_model_has_a_caret(models, text):
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 1, 1, "the model file is empty: expected a declaration", text.split("\n")[0])


def test_unexpected_end_of_file_after_blank_lines(models):
    text = "shared word x = 0;\nthread T {\n  x = 1;\n\n\n"
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    assert_diagnostic(models.cli("m.dsl"), "m.dsl", 3, 9, "unexpected end of file", "  x = 1;")


def test_number_with_thousands_of_digits(models):
    check(models, "thread T { word v = " + "9" * 5000 + "; }\n", "9999", "has 5000 digits: no word holds it")


# ---- nesting ---------------------------------------------------------------------------------------


def test_long_flat_chains_are_accepted_and_mean_the_same(models):
    # 600 terms nest 600 deep as written (left-associative): regrouped, they are not deep
    run = models.run(f"""
        shared word x = 0;
        thread T {{
            word v = 1;
            x = v{" + 1" * 600};
            assert(x == 601, "sum");
            assert(v{" && 1" * 600}, "and");
            assert((v{" | 2" * 600}) == 3, "or");
        }}
    """, "--json")
    assert run.rc == 0, run.err
    statuses = {p["property"]: p["status"] for p in run.json()["results"]}
    assert statuses["sum"] == statuses["and"] == statuses["or"] == "proved"


def test_long_chain_is_still_evaluated_left_to_right(models):
    # a && b && ... stops at the first zero: the access through NULL after it never happens
    text = f"""
        struct S {{ word f; }};
        object struct S s;
        shared struct S *p = NULL;
        thread T {{
            word v = 0;
            atomic {{ v = 1{" && 1" * 20} && {{stop}} && p->f{" && 1" * 20}; }}
        }}
    """
    assert models.run(text.replace("{stop}", "0")).rc == 0
    run = models.run(text.replace("{stop}", "1"), "--json")
    assert run.rc == 1 and {p["property"]: p["status"] for p in run.json()["results"]}["uaf"] == "violated"


@pytest.mark.parametrize("body, needle", [
    ("{" * 600 + "x = 1;" + "}" * 600, "{"),
    ("x = " + "!" * 1000 + "1;", "!"),
    ("x = " + "(word)" * 1000 + "1;", "(word)"),
    ("x = " + "-" * 1000 + "1;", "-"),
    ("x = x" + " - 1" * 600 + ";", "x - 1"),   # not associative: not regrouped
    ("x = " + "likely(" * 600 + "1" + ")" * 600 + ";", "likely("),
    ("if (x) " * 600 + "x = 1;", "if (x)"),
], ids=["blocks", "not", "casts", "minus", "subtractions", "likely", "ifs"])
def test_deep_nesting_is_refused_where_the_limit_is_crossed(models, body, needle):
    text = f"shared word x = 0;\nthread T {{ {body} }}\n"
    (models.root / "m.dsl").write_text(text, encoding="utf-8")
    run = models.cli("m.dsl")
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    head = DIAG_HEAD.match(run.err.splitlines()[0])
    assert head and head["file"] == "m.dsl" and head["line"] == "2", run.err[:300]
    assert head["msg"] == f"nesting deeper than {MAX_NESTING} levels (blocks, statements and operators inside one another)"
    column = int(head["col"])
    line = text.splitlines()[1]
    assert line[column - 1:].startswith(needle)
    if needle != "x - 1":   # every subtraction of the chain starts at its first operand
        assert line[:column - 1].count(needle[0]) > MAX_NESTING // 2   # deep inside, not at the top


def test_deep_parentheses_are_not_nesting(models):
    run = models.run("shared word x = 0;\nthread T { x = " + "(" * 1000 + "1" + ")" * 1000 + "; }\n")
    assert run.rc == 0, run.err


def test_nesting_below_the_limit_works_in_every_stage(models):
    text = "shared word x = 0;\nthread T " + "{" * 180 + "x = 1;" + "}" * 180 + "\n"
    models.write(text)
    assert models.cli("m.dsl").rc == 0
    assert models.cli("simulate", "m.dsl").rc == 0
    assert models.cli("export", "--format", "promela", "m.dsl").rc == 0


def chain_of_calls(n):
    lines = ["shared word x = 0;"]
    lines += [f"proc void f{i}(void) {{ f{i + 1}(); }}" for i in range(n - 1)]
    lines += [f"proc void f{n - 1}(void) {{ x = 1; }}", "thread A { f0(); }"]
    return "\n".join(lines) + "\n"


def test_a_thousand_procedures_in_a_chain(models):
    text = chain_of_calls(1000)
    msg = check(models, text, "f0();", "call chain too deep")
    assert f"(the limit is {MAX_INLINED_NESTING})" in msg
    assert "note: the deepest chain (1000 calls): thread A -> f0 -> f1" in models.cli("m.dsl").err


def test_a_long_chain_below_the_limit_is_inlined(models):
    models.write(chain_of_calls(150))
    assert models.cli("m.dsl").rc == 0
    assert models.cli("simulate", "m.dsl").rc == 0


def test_recursion_in_a_long_chain_is_found_without_recursing(models):
    text = chain_of_calls(1000).replace("proc void f999(void) { x = 1; }", "proc void f999(void) { f0(); }")
    run = models.run(text)
    assert run.rc == 2 and "Traceback" not in run.err
    assert "recursion is not supported: f0 -> f1 -> f2" in run.err


# ---- the same rules in the other commands ---------------------------------------------------------


def test_simulate_refuses_a_define_beyond_the_width(models):
    models.write(PARAM_MODEL)
    run = models.cli("simulate", "m.dsl", "-D", "N=65536")
    assert run.rc == 2 and "Traceback" not in run.err
    assert "-D N=65536: param 'N' is a 16-bit word: expected 0 to 65535" in run.err


@pytest.mark.parametrize("command", ["prove", "check"])
@pytest.mark.parametrize("rlimit", ["-1", "4294967296"])
def test_gate_refuses_an_rlimit_z3_would_wrap(models, command, rlimit):
    models.write(PARAM_MODEL)
    run = models.cli(command, "--rlimit", rlimit, "m.dsl")
    assert run.rc == 2 and "Traceback" not in run.err and f"--rlimit {rlimit}" in run.err


@pytest.mark.parametrize("command", ["prove", "check", "compare", "mutate"])
def test_other_commands_refuse_an_infinite_timeout(models, command):
    models.write(PARAM_MODEL)
    run = models.cli(command, "--timeout", "inf", "m.dsl")
    assert run.rc == 2 and "Traceback" not in run.err and "--timeout inf: expected a positive number of seconds" in run.err


def test_crlf_model_shows_clean_source_lines(models):
    (models.root / "m.dsl").write_bytes(b"shared word x = 0;\r\nthread T { x = y; }  // C line\r\n")
    run = models.cli("m.dsl")
    assert_diagnostic(run, "m.dsl", 2, 16, "unknown name 'y'", "thread T { x = y; }  // C line")
    assert "\r" not in run.err


def test_width_named_by_a_constant_says_why_not(models):
    text = """
        const W = 32;
        width W;
        shared word x = 0;
        thread T { x = 1; }
    """
    check(models, text, "W;", "'width' takes numbers only, not 'W': it is read before any constant")



def test_export_refuses_a_wide_word_at_the_width_declaration(models):
    # the Promela export's width limit used to be reported with no line or column
    text = "width 64;\nshared word x;\nthread T { x = 1; }\n"
    models.write(text)
    run = models.cli("export", "m.dsl")
    assert_diagnostic(run, "m.dsl", 1, 7, "64-bit words are not supported by the Promela export", "width 64;")
