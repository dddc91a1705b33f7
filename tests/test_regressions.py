"""Bugs found on the way, each pinned by the smallest model that showed it."""

from __future__ import annotations

from pathlib import Path

from objcg_proof.diagnostics import SourceCache
from objcg_proof.verify import VerifyOptions, verify_path


def test_shared_declaration_after_a_thread_parses(tmp_path: Path) -> None:
    # the keyword `shared` after a `}` was lexed as a name ("unexpected 'shared'")
    path = tmp_path / "m.dsl"
    path.write_text('thread B { }\nshared word x = 0;\nghost word g = 0;\nthread C { x = 1; assert(x == 1, "wrote"); }\n')
    result = verify_path(str(path), SourceCache(), VerifyOptions())
    assert {p.name: p.status for p in result.properties}["wrote"] == "proved"
