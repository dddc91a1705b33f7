"""`-q`, `-v` and `--color` (NOTE(output-style) in cli/style.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from objcg_proof.cli.dispatch import main
from objcg_proof.cli.style import wants_color

ROOT = Path(__file__).resolve().parents[2]
COUNTER = str(ROOT / "models" / "examples" / "counter.dsl")   # 3 proved, plain_is_2 violated
ESC = "\033["


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("when, environ, tty, expected", [
    ("always", {"NO_COLOR": "1"}, False, True),
    ("never", {}, True, False),
    ("auto", {}, True, True),
    ("auto", {}, False, False),
    ("auto", {"NO_COLOR": "1"}, True, False),
    ("auto", {"NO_COLOR": ""}, True, True),       # no-color.org: set and not empty
    ("auto", {"TERM": "dumb"}, True, False),
])
def test_when_to_colour(when: str, environ: dict[str, str], tty: bool, expected: bool) -> None:
    stream = _Terminal() if tty else io.StringIO()
    assert wants_color(when, stream, environ) is expected


@pytest.mark.parametrize("command", [[], ["prove"]])
def test_quiet_prints_only_what_is_not_proved_and_the_tally(command: list[str]) -> None:
    status, out, err = _run(*command, "-q", COUNTER)
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith(COUNTER)
    assert any(line.split()[:3] == ["plain_is_2", "assert", "VIOLATED"] for line in lines)
    assert not any(" proved " in line for line in lines[:-1])   # no proved property's line
    assert "counterexample:" not in out and "read plain" not in out   # no trace
    assert lines[-1] == "prove: 1 model, 4 properties: 3 proved, 1 violated"
    status, out, _ = _run(*command, "-q", "-p", "uaf", COUNTER)
    assert status == 0 and out.splitlines() == ["prove: 1 model, 1 property: 1 proved"]


def test_verbose_says_each_property_as_it_starts_also_off_a_terminal() -> None:
    status, _, err = _run("-v", COUNTER)
    assert status == 1
    started = [line for line in err.splitlines() if line.startswith("objcg-prove: [")]
    assert [line.split()[1:3] for line in started] == [[f"[{i}/4]", COUNTER] for i in range(4)]
    assert [line.split()[3] for line in started] == ["uaf", "deadlock", "plain_is_2", "counted_is_2"]
    _, _, err = _run(COUNTER)
    assert "objcg-prove: [" not in err   # without -v, only a terminal gets the progress line


def test_quiet_and_verbose_together_is_bad_usage() -> None:
    status, _, err = _run("-q", "-v", COUNTER)
    assert status == 2 and "not allowed with" in err


def test_colour_marks_the_verdict_words_only_when_asked_and_never_in_json() -> None:
    _, out, _ = _run("--color", "always", COUNTER)
    assert f"{ESC}1;31mVIOLATED{ESC}0m" in out and f"{ESC}32mproved{ESC}0m" in out
    assert f"{ESC}1;31m1 violated{ESC}0m" in out.splitlines()[-1]
    # the columns after the word are where they are without colour
    plain = _run("--color", "never", COUNTER)[1]
    assert ESC not in plain
    stripped = out.replace(f"{ESC}1;31m", "").replace(f"{ESC}32m", "").replace(f"{ESC}0m", "")
    assert [line[:50] for line in stripped.splitlines()[1:5]] == [line[:50] for line in plain.splitlines()[1:5]]
    assert ESC not in _run(COUNTER)[1]   # a StringIO is no terminal: auto gives no colour
    status, out, _ = _run("--json", "--color", "always", COUNTER)
    assert status == 1 and ESC not in out and json.loads(out)["results"]


def test_prove_subcommand_writes_dot_graphs(tmp_path: Path) -> None:
    model = tmp_path / "mp.dsl"
    model.write_text("shared int data;\nshared int flag;\n"
                     "thread P0 {\n    WRITE_ONCE(data, 1);\n    WRITE_ONCE(flag, 1);\n}\n"
                     "thread P1 {\n    int f = READ_ONCE(flag);\n    int d = READ_ONCE(data);\n"
                     "    assert(f == 0 || d == 1, \"mp\");\n}\n")
    graphs = tmp_path / "graphs"
    status, out, _ = _run("prove", "--no-traces", "--memory-model", "lkmm", "--dot", str(graphs), str(model))
    assert status == 1 and (graphs / "mp.mp.dot").read_text().startswith("digraph")
    assert f"wrote {graphs / 'mp.mp.dot'}" in out


def test_check_takes_the_same_output_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "counter.dsl"
    model.write_text(Path(COUNTER).read_text())
    assert _run("prove", "--record", "models/counter.dsl")[0] == 1
    status, out, err = _run("check", "-q", "-v", "models/counter.dsl")
    assert status == 2 and "not allowed with" in err
    status, out, _ = _run("check", "-q", "models/counter.dsl")
    assert status == 0 and out == "gate: 1 passed, 0 failed\n"   # quiet: nothing of a passing model
    status, out, err = _run("check", "-v", "--no-cache", "models/counter.dsl")
    assert status == 0 and "as recorded" in out and "objcg-prove: [3/4] models/counter.dsl counted_is_2" in err
    # an edit that breaks counted_is_2: atomic_inc() as a plain load and store
    model.write_text(model.read_text().replace("    atomic_inc(&counted);   // atomic_inc(&counted);\n",
                                               "    word c = counted;\n    counted = c + 1;\n"))
    status, out, _ = _run("check", "--no-cache", "models/counter.dsl")
    assert status == 1 and "counted_is_2: expected proved, now violated" in out and "counterexample: counted_is_2" in out
    status, out, _ = _run("check", "--no-traces", "models/counter.dsl")
    assert status == 1 and "counted_is_2: expected proved, now violated" in out and "counterexample:" not in out
    status, out, _ = _run("check", "-q", "models/counter.dsl")
    assert status == 1 and "now violated" in out and "counterexample:" not in out
    assert out.splitlines()[-1] == "gate: 0 passed, 1 failed"
    status, out, _ = _run("check", "--layout", "columns", "--color", "always", "models/counter.dsl")
    assert status == 1 and " ----" in out and f"{ESC}1;31m1 failed{ESC}0m" in out
