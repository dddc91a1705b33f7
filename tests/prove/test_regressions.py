"""Bugs found on the way, each pinned by the smallest model that showed it."""

from __future__ import annotations

from pathlib import Path

from objcg_proof.lang.diagnostics import SourceCache
from objcg_proof.prove.verify import VerifyOptions, verify_path


def test_shared_declaration_after_a_thread_parses(tmp_path: Path) -> None:
    # the keyword `shared` after a `}` was lexed as a name ("unexpected 'shared'")
    path = tmp_path / "m.dsl"
    path.write_text('thread B { }\nshared word x = 0;\nghost word g = 0;\nthread C { x = 1; assert(x == 1, "wrote"); }\n')
    result = verify_path(str(path), SourceCache(), VerifyOptions())
    assert {p.name: p.status for p in result.properties}["wrote"] == "proved"


VACUOUS = """
refcounted struct obj { };
object struct obj o;
shared word x = 0;
thread T {
    word v = x;
    assume(v == 1);              // x is never 1: no execution gets past this line
    assert(v == 2, "after_assume");
    kill(&o);
}
"""


def test_a_property_checked_nowhere_is_vacuous_not_proved(tmp_path: Path) -> None:
    path = tmp_path / "m.dsl"
    path.write_text(VACUOUS)
    result = verify_path(str(path), SourceCache(), VerifyOptions())
    status = {p.name: p.status for p in result.properties}
    # the assert is never reached and no execution finishes: both hold only vacuously
    assert status == {"leak": "vacuous", "uaf": "vacuous", "deadlock": "proved", "after_assume": "vacuous"}
    path.write_text(VACUOUS.replace("assume(v == 1);", "assume(v == 0);"))
    status = {p.name: p.status for p in verify_path(str(path), SourceCache(), VerifyOptions()).properties}
    assert status == {"leak": "proved", "uaf": "proved", "deadlock": "proved", "after_assume": "violated"}
