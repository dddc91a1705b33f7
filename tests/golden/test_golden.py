"""Golden regression cases: every case below tests/golden/ gives exactly its `expected` output
(tests/golden/README.md; regenerate with `python3 scripts/golden.py --update`)."""

from __future__ import annotations

import difflib

import pytest

from golden import HERE, ROOT, Case, cases, run


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_golden(case: Case) -> None:
    assert case.expected_file.exists(), f"{case.name}: no expected output; write it with " \
                                        f"`python3 scripts/golden.py --update {case.name}`"
    want = case.expected_file.read_text(encoding="utf-8")
    got = run(case)
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            f"{case.name}/expected", "this run"))
        pytest.fail(f"{case.name}: the output changed (if that is intended, review the diff and run "
                    f"`python3 scripts/golden.py --update {case.name}`):\n{diff}", pytrace=False)


def test_every_shipped_model_has_a_case() -> None:
    # a new model in models/ or models/examples/ gets its golden case in tests/golden/models/
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "models").glob("*.dsl")} | \
        {str(p.relative_to(ROOT)) for p in (ROOT / "models" / "examples").glob("*.dsl")}
    # an objcg design's case runs it on the narrow setting of its scenario, tests/narrow/<name>
    covered = {case.argv[-1].replace("tests/narrow/", "models/") for case in cases()
               if case.folder.parent == HERE / "models"}
    assert shipped and covered == shipped, (sorted(shipped - covered), sorted(covered - shipped))
