"""Check or rewrite the golden regression cases (tests/golden/README.md).

    python3 scripts/golden.py                 check every case; print the diff of each that changed
    python3 scripts/golden.py --update        rewrite the `expected` file of every case
    python3 scripts/golden.py --update CASE   only these cases (e.g. small/vacuous-after-assume)

Exit status 0 when every case checked matches (or was rewritten), 1 otherwise. Review the diff
of an update (`git diff tests/golden`) before committing it: a golden changes only on purpose.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "golden"))
from golden import HERE, Case, cases, run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the expected output")
    parser.add_argument("case", nargs="*", help="case folders below tests/golden/ (default: all)")
    args = parser.parse_args()
    chosen = [Case(HERE / name) for name in args.case] if args.case else cases()
    changed = 0
    for case in chosen:
        if not (case.folder / "cmd").exists():
            print(f"{case.name}: no such case (no {case.folder / 'cmd'})", file=sys.stderr)
            return 2
        got = run(case)
        want = case.expected_file.read_text(encoding="utf-8") if case.expected_file.exists() else ""
        if got == want:
            print(f"same     {case.name}")
        elif args.update:
            case.expected_file.write_text(got, encoding="utf-8")
            print(f"updated  {case.name}")
        else:
            changed += 1
            print(f"CHANGED  {case.name}")
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                       f"{case.name}/expected", "this run"))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
