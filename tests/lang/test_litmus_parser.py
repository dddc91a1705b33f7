"""lang/litmus_parser.py: the kernel's C litmus format -> litmus_syntax, and its errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from objcg_proof.lang import litmus_syntax as ls
from objcg_proof.lang import syntax as s
from objcg_proof.lang.diagnostics import SourceCache, UserError
from objcg_proof.lang.litmus_parser import blank_ocaml_comments, litmus_paths, load_litmus, parse_litmus

ROOT = Path(__file__).resolve().parents[2]
KERNEL_LITMUS = ROOT.parent / "shared" / "lkmm" / "litmus"   # the kernel's 47 tests, beside the project

MP = """C MP+onceassign+derefonce

(*
 * Result: Never  (a brace { in a comment does not count)
 *)

{
	int *p=y;
	int x;
	int y=0;
	1:r9 = 3;
}

P0(int *x, int **p) // Producer
{
	WRITE_ONCE(*x, 1);
	rcu_assign_pointer(*p, x);
}

P1(int *x, int **p) /* Consumer */
{
	int *r0;
	int r1, r2 = 0x10;

	rcu_read_lock();
	r0 = rcu_dereference(*p);
	r1 = READ_ONCE(*r0);
	if (r1 == 1 && !r2)
		smp_store_release(x, r1 + 1);
	else {
		(void)xchg(x, 2);
	}
	rcu_read_unlock();
}

locations [x; 0:r0]
filter (~(1:r2=1))
exists (1:r0=x /\\ 1:r1=0 \\/ y=-1) (* Bad outcome. *)
"""


def test_a_test_reads_as_the_kernel_writes_it() -> None:
    t = parse_litmus(MP, "mp.litmus")
    assert t.name == "MP+onceassign+derefonce" and t.path == "mp.litmus"
    assert t.init == (
        ls.InitShared("p", ls.CType("int", 1), ls.InitAddress("y")),
        ls.InitShared("x", ls.CType("int"), None),
        ls.InitShared("y", ls.CType("int"), s.Num(0)),
        ls.InitRegister(1, "r9", None, s.Num(3)),
    )
    assert [(th.index, [(p.name, p.type) for p in th.params]) for th in t.threads] == [
        (0, [("x", ls.CType("int", 1)), ("p", ls.CType("int", 2))]),
        (1, [("x", ls.CType("int", 1)), ("p", ls.CType("int", 2))]),
    ]
    x, p, r0, r1, r2 = (s.Name(n) for n in ("x", "p", "r0", "r1", "r2"))
    assert t.threads[0].body.body == (
        s.ExprStmt(s.Call("WRITE_ONCE", (s.Deref(x), s.Num(1)))),
        s.ExprStmt(s.Call("rcu_assign_pointer", (s.Deref(p), x))),
    )
    body = t.threads[1].body.body
    assert body[0] == ls.Decl("int", (ls.Declarator("r0", 1, None),))
    assert body[1] == ls.Decl("int", (ls.Declarator("r1", 0, None), ls.Declarator("r2", 0, s.Num(16))))
    assert body[3] == s.Assign(r0, s.Call("rcu_dereference", (s.Deref(p),)))
    assert body[5] == s.If(
        s.Binary("&&", s.Binary("==", r1, s.Num(1)), s.Unary("!", r2)),
        s.ExprStmt(s.Call("smp_store_release", (x, s.Binary("+", r1, s.Num(1))))),
        s.Block((s.ExprStmt(s.Call("xchg", (x, s.Num(2)))),)),
    )
    assert t.locations == (ls.SharedLoc("x"), ls.RegisterLoc(0, "r0"))
    assert t.filter == ls.Not(ls.Equal(ls.RegisterLoc(1, "r2"), 1))
    # /\ binds tighter than \/
    assert t.quantifier == "exists"
    assert t.condition == ls.Or(ls.And(ls.Equal(ls.RegisterLoc(1, "r0"), "x"), ls.Equal(ls.RegisterLoc(1, "r1"), 0)),
                                ls.Equal(ls.SharedLoc("y"), -1))


def test_spans_point_into_the_file() -> None:
    t = parse_litmus(MP, "mp.litmus")
    lines = MP.split("\n")
    stmt = t.threads[1].body.body[3]
    assert lines[stmt.span.line - 1][stmt.span.column - 1:].startswith("r0 = rcu_dereference(*p);")
    assert lines[t.threads[1].span.line - 1].startswith("P1(")


@pytest.mark.parametrize("quantifier", ["exists", "~exists", "forall"])
def test_each_quantifier(quantifier: str) -> None:
    t = parse_litmus(f"C q\n{{}}\nP0(int *x) {{ WRITE_ONCE(*x, 1); }}\n{quantifier} (x=1 /\\ true \\/ not false)\n", "q.litmus")
    assert t.quantifier == quantifier
    assert t.condition == ls.Or(ls.And(ls.Equal(ls.SharedLoc("x"), 1), ls.Truth(True)), ls.Not(ls.Truth(False)))


def test_old_style_typed_state_and_atomic_init() -> None:
    t = parse_litmus("C old\n{\n\tint x;\n\tspinlock_t lo;\n\tatomic_t v = ATOMIC_INIT(010);\n}\n"
                     "P0(int *x, spinlock_t *lo, atomic_t *v) { spin_lock(lo); r0 = atomic_inc_return(v); spin_unlock(lo); }\n"
                     "exists (v=1)\n", "old.litmus")
    assert t.init == (ls.InitShared("x", ls.CType("int"), None), ls.InitShared("lo", ls.CType("spinlock_t"), None),
                      ls.InitShared("v", ls.CType("atomic_t"), s.Num(8)))   # 010 is octal, as in C


def test_ocaml_comments_are_blanked_only_outside_braces() -> None:
    text = "C c (* {x} *)\n{}\nP0(int *x) { WRITE_ONCE(*x, (*x)); }\nexists (x=1) (* two\nlines *)\n"
    blanked = blank_ocaml_comments(text, "c.litmus")
    assert "(*x)" in blanked and "{x}" not in blanked and "lines" not in blanked
    assert blanked.count("\n") == text.count("\n") and len(blanked) == len(text)


def test_every_kernel_litmus_test_parses() -> None:
    if not KERNEL_LITMUS.is_dir():
        pytest.skip(f"the kernel's litmus tests are not beside the project ({KERNEL_LITMUS})")
    with open(KERNEL_LITMUS / "expected.tsv", encoding="utf-8") as f:
        listed = [row["path"] for row in csv.DictReader(f, delimiter="\t")]
    assert len(listed) == 47
    found = litmus_paths([str(KERNEL_LITMUS / "kernel")])
    assert sorted(str(Path(p).relative_to(KERNEL_LITMUS)) for p in found) == sorted(listed)
    for path in found:
        text = Path(path).read_text(encoding="utf-8")
        t = load_litmus(path, SourceCache())
        assert t.name == Path(path).stem                          # herd names a test after its file
        assert len(t.threads) == sum(f"P{i}(" in text for i in range(8))
        assert t.quantifier in ls.QUANTIFIERS


BAD = [
    # (text, line, column, phrase)
    ("", 1, 1, "the litmus file is empty"),
    ("X t\n{}\n", 1, 1, "unexpected 'X'; expected 'C'"),
    ("C t\n{}\nP0(int *x) { WRITE_ONCE(*x, 1); }\n", 3, 34, "has no final condition: expected exists, ~exists or forall"),
    ("C t\n{}\nP1(int *x) { WRITE_ONCE(*x, 1); }\nexists (x=1)\n", 3, 1, "thread P1 out of order: expected P0"),
    ("C t\n{}\nP0(int *x)\n{\n\tWRITE_ONCE(*x, 1)\n}\nexists (x=1)\n", 6, 1, "unexpected '}'; expected ';'"),
    ("C t\n(* never closed\n{}\n", 2, 1, "comment '(*' is never closed: expected '*)'"),
    ("C t\n{}\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (x=1)\nexists (x=2)\n", 5, 1, "more than one final condition"),
    ("C t\n{}\nP0(int *x) { WRITE_ONCE(*x, 1); }\nfilter (x=1)\nfilter (x=2)\nexists (x=1)\n", 5, 1, "more than one 'filter'"),
    ("C t\n{}\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (x==1)\n", 4, 11, "unexpected '='; expected a name, a number"),
    ("C t\n{ x = 08; }\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (x=1)\n", 2, 7, "'08' is not an octal number"),
    ("C t\n{ v = INIT(1); }\nP0(int *x) { WRITE_ONCE(*x, 1); }\nexists (x=1)\n", 2, 7, "unknown initialiser 'INIT(...)'"),
    ("C t\n{}\nP0(int *x) { while (1) WRITE_ONCE(*x, 1); }\nexists (x=1)\n", 3, 14, "loops are not supported"),
    ("C t\n{}\nP0(int *x) { r0 = 1 @ 2; }\nexists (x=1)\n", 3, 21, "unexpected character '@'"),
]


@pytest.mark.parametrize("text,line,column,phrase", BAD)
def test_bad_input_is_one_located_error(text: str, line: int, column: int, phrase: str) -> None:
    with pytest.raises(UserError) as exc:
        parse_litmus(text, "bad.litmus")
    [d] = exc.value.diagnostics
    assert (d.span.file, d.span.line, d.span.column) == ("bad.litmus", line, column), d.message
    assert phrase in d.message


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError) as exc:
        load_litmus(str(tmp_path / "missing.litmus"), SourceCache())
    assert "cannot open" in exc.value.diagnostics[0].message
