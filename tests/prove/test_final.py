"""End-of-run checks (the `final` block) in the prover: verdicts derived by hand from
docs/semantics.md ("End-of-run checks") in tests/final_models.py, which the interpreter and SPIN
are held to as well; the traces and words of a violation; the bound; the property listing."""

from __future__ import annotations

import json

import pytest

import final_models
from conftest import line_of, prop, statuses


@pytest.mark.parametrize("text, want", [(text, want) for _, text, want in final_models.CASES],
                         ids=[case for case, _, _ in final_models.CASES])
def test_final_checks(models, text, want):
    got = statuses(models.verify(text))
    assert set(want) <= set(got)
    assert got == {name: want.get(name, "proved") for name in got}


def test_a_final_assert_is_listed_after_the_threads_checks(models):
    text = final_models.RACE
    names = list(statuses(models.verify(text)))
    assert names == ["uaf", "deadlock", "sum", f"assert@m.dsl:{line_of(text, 'counter >= 1')}"]


def test_the_trace_ends_when_every_thread_finished(models):
    text = final_models.RACE
    p = prop(models.verify(text), "sum")
    assert p.trace is not None
    # both threads ran to their end: two steps each, the lost update on the way
    assert [s.thread for s in p.trace.steps].count("A") == 2 and [s.thread for s in p.trace.steps].count("B") == 2
    assert p.trace.violation == f"assertion sum failed at the end of the run, checked by the final block at m.dsl:{line_of(text, 'sum')}"
    assert p.trace.line == line_of(text, '"sum"')


def test_a_final_check_sees_only_the_end(models):
    # counter is 0 or 1 while the threads run; C's thread assert would fail, the final one holds
    text = final_models.ATOMIC
    r = models.verify(text)
    assert prop(r, "sum").status == "proved"
    trace = prop(r, "seen_all").trace
    assert trace is not None and len(trace.steps) == 3 and trace.steps[0].thread == "C"


def test_leak_words_name_the_held_references(models):
    r = models.verify(final_models.CACHE.replace("STORE", "&o1").replace("HOLDS", "holds(t1.cache); holds(&o2);"))
    words = prop(r, "leak").trace.violation
    assert "count is not the references the final block holds" in words
    assert "o2 ends with count 0, but the final block holds 1 reference(s) on it: a held reference was dropped" in words
    r = models.verify(final_models.TWO.replace("HOLDS", "holds(t1.cache);"))
    words = prop(r, "leak").trace.violation
    assert "o1 (of which the final block holds 1) ends with count 2: never released" in words


def test_leak_without_holds_keeps_its_words(models):
    r = models.verify(final_models.CACHE.replace("STORE", "&o1").replace("HOLDS", ""))
    assert prop(r, "leak").trace.violation.startswith(
        "leak: at the end of the run a refcounted object still holds a reference: o1 ends with count 1")


def test_a_final_check_is_bounded_when_executions_go_past_the_bound(models):
    text = """
        shared word x = 0;
        thread A {
            while (nondet(2)) { }
            x = 1;
        }
        final { assert(x == 1, "done"); }
    """
    assert statuses(models.verify(text)) == {"uaf": "bounded", "deadlock": "bounded", "done": "bounded"}


def test_a_final_check_is_checked_only_where_every_thread_finished(models):
    # B stops early on a failed access in one execution, never finishes there; in the others
    # x ends at 2
    text = """
        struct s { word f; };
        object struct s o;
        shared word x = 0;
        shared struct s *p = &o;
        thread A { atomic_inc(&x); p = NULL; }
        thread B { struct s *q = p; q->f = 1; atomic_inc(&x); }
        final { assert(x == 2, "both"); }
    """
    assert statuses(models.verify(text)) == {"uaf": "violated", "deadlock": "proved", "both": "proved"}


def test_property_selection_and_listing(models):
    text = final_models.RACE
    run = models.run(text, "-p", "sum", "--json")
    assert run.rc == 1
    assert [(r["property"], r["status"]) for r in json.loads(run.out)["results"]] == [("sum", "violated")]
    run = models.run(text, "-p", "nosuch")
    assert run.rc == 2 and "sum" in run.err


def test_a_vacuous_final_check_says_no_execution_finishes(models):
    p = prop(models.verify(final_models.STUCK), "never")
    assert p.status == "vacuous" and p.coverage == "vacuous: no execution finishes every thread within the bound 2"


def test_holds_is_no_property_of_its_own(models):
    r = models.verify(final_models.MAYBE)
    assert list(statuses(r)) == ["leak", "uaf", "deadlock"]
