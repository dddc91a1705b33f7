"""The front end under hostile input: numbers that do not fit, undeclared structs, deep nesting,
odd files to include, odd bytes. Each case is bad input (exit 2, `file:line:col`, no traceback)
or a model that works; never a wrong verdict and never a traceback."""

from __future__ import annotations

import pytest

from pathlib import Path

from conftest import assert_diagnostic, column_of, dedent, line_of


def check(models, text, needle, phrase, *argv, name="m.dsl"):
    """Run a bad model; the diagnostic must point at `needle` on its (only) line."""
    run = models.run(text, *argv, name=name)
    line, col = line_of(text, needle), column_of(text, needle)
    return assert_diagnostic(run, name, line, col, phrase, dedent(text).splitlines()[line - 1])


def usage_error(run, phrase):
    assert run.rc == 2, (run.rc, run.out, run.err)
    assert "Traceback" not in run.err and run.out == ""
    assert run.err.startswith(f"objcg-prove: error: {phrase}"), run.err


REPO = Path(__file__).resolve().parent.parent

PARAM_MODEL = """
    param N = 1;
    shared word x = 0;
    thread T { x = N; }
"""

# ---- -D values: spelled in ASCII decimal or 0x hex, and fitting the model's word ------------------


def test_define_that_would_wrap_is_refused_not_proved(models):
    # ALLOCS=65537 once ran the model with ALLOCS=1 and proved lost_update, violated at ALLOCS=2
    run = models.cli(str(REPO / "models" / "objcg_v2.dsl"), "-D", "ALLOCS=65537")
    assert run.rc == 2 and run.out == "" and "Traceback" not in run.err
    first = run.err.splitlines()[0]
    assert first == "<command line>: error: -D ALLOCS=65537: param 'ALLOCS' is a 16-bit word: expected 0 to 65535 (0xffff)"
    assert "note: 'ALLOCS' is declared at " in run.err and "harness/objcg.dsl:25:1" in run.err


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
