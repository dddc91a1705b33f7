"""`--html DIR` on prove, check and compare (NOTE(html-report) in objcg_proof/cli/html_report.py):
the page's content read back with the standard library's HTML parser, the refusal to overwrite a
page objcg-prove did not write, and the execution graph of a weak-memory counterexample. The page
in a real browser: tests/cli/test_html_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from cli_helpers import PROVED, VIOLATED, no_traceback, run, write

# a counterexample whose statement holds characters HTML must escape
ESCAPED = """
shared word n = 0;
thread A { word t = n; if (t < 1) { n = t + 1; } }
thread B { word t = n; if (t < 1) { n = t + 1; } assert(n < 1 && t < 2, "once"); }
"""


class Page(HTMLParser):
    """The elements of a page: (tag, attributes, text directly inside)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "input", "br", "path", "rect"):
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            i = self._open.pop()
            if self.elements[i][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.elements[self._open[-1]][2].append(data.strip())

    def having(self, cls: str) -> list[tuple[str, dict[str, str], list[str]]]:
        return [e for e in self.elements if cls in e[1].get("class", "").split()]


def page(directory: Path) -> Page:
    return Page((directory / "index.html").read_text(encoding="utf-8"))


def test_prove_writes_the_verdicts_and_each_counterexample_as_lanes(project):
    model = write(project, VIOLATED)
    text_run = run(model)
    r = run(model, "--html", "report")
    no_traceback(r)
    assert r.rc == text_run.rc == 1
    assert "wrote report/index.html" in r.out
    p = page(project / "report")
    meta = [e for e in p.elements if e[0] == "meta" and e[1].get("name") == "generator"]
    assert meta and meta[0][1]["content"].startswith("objcg-prove ")
    assert [e[1]["data-status"] for e in p.having("verdict")] == ["proved", "proved", "violated"]
    traces = p.having("trace")
    assert len(traces) == 1
    lanes = [e[2][0] for e in p.having("lane-head")]
    assert lanes == ["A", "B"] or lanes == ["B", "A"]
    steps = p.having("step")
    assert [int(e[1]["data-step"]) for e in steps] == list(range(1, len(steps) + 1))
    assert traces[0][1]["data-steps"] == str(len(steps)) and len(steps) == 8
    assert {e[1]["data-thread"] for e in steps} == {"A", "B"}
    # the lane of a step is its thread's column; the row its place in time
    for e in steps:
        style = e[1]["style"]
        assert f"grid-column: {lanes.index(e[1]['data-thread']) + 2};" in style
        assert f"grid-row: {int(e[1]['data-step']) + 1};" in style
    failing = p.having("failing")
    assert len(failing) == 1 and failing[0][1]["data-thread"] == "B" and failing[0][1]["data-step"] == str(len(steps))
    assert "n" in failing[0][1]["data-objects"].split()
    chips = {e[1]["data-object"]: "about" in e[1]["class"] for e in p.having("chip")}
    assert chips.get("n") is True
    # the text report's verdicts and tally are the same, then it says where the page is
    head = _no_times(text_run.out).split("\n\n")[0]
    assert _no_times(r.out).startswith(head)
    assert r.out.endswith(text_run.out.rstrip("\n").rsplit("\n", 1)[1] + "\nwrote report/index.html\n")


def _no_times(text: str) -> str:
    return re.sub(r"\d+\.\d+s", "T", text)


def test_statements_are_escaped(project):
    model = write(project, ESCAPED)
    r = run(model, "--html", "out", "--no-traces")
    assert r.rc == 1, r.err
    html = (project / "out" / "index.html").read_text(encoding="utf-8")
    assert "if (t &lt; 1)" in html and "if (t < 1)" not in html
    assert "n &lt; 1 &amp;&amp; t &lt; 2" in html


def test_proved_models_have_a_page_without_counterexamples(project):
    model = write(project, PROVED)
    r = run("prove", model, "--html", "out", "-q")
    assert r.rc == 0, r.err
    assert "wrote" not in r.out   # -q prints only what is not proved
    p = page(project / "out")
    assert not p.having("trace") and [e[1]["data-status"] for e in p.having("verdict")] == ["proved"] * 3
    summary = [e for e in p.elements if e[1].get("id") == "summary"]
    assert summary[0][2] == ["prove: 1 model, 3 properties: 3 proved"]


def test_a_page_objcg_prove_did_not_write_is_never_overwritten(project):
    model = write(project, VIOLATED)
    (project / "site").mkdir()
    mine = "<html><body>my notes</body></html>\n"
    (project / "site" / "index.html").write_text(mine)
    for argv in ([model], ["prove", model], ["check", model], ["compare", model]):
        r = run(*argv, "--html", "site")
        no_traceback(r)
        assert r.rc == 2, (argv, r.err)
        assert "site/index.html exists and objcg-prove did not write it" in r.err
        assert (project / "site" / "index.html").read_text() == mine
    (project / "afile").write_text("x")
    r = run(model, "--html", "afile")
    assert r.rc == 2 and "--html afile: not a directory" in r.err
    assert (project / "afile").read_text() == "x"


def test_its_own_page_is_replaced(project):
    model = write(project, VIOLATED)
    assert run(model, "--html", "out").rc == 1
    first = (project / "out" / "index.html").read_text()
    r = run(model, "--html", "out", "-p", "count")
    assert r.rc == 1, r.err
    second = (project / "out" / "index.html").read_text()
    assert second != first and len(page(project / "out").having("verdict")) == 1


def test_check_shows_each_model_against_its_record(project):
    good = write(project, PROVED, "models/good.dsl")
    bad = write(project, VIOLATED, "models/bad.dsl")
    assert run("prove", "--record", good, bad).rc == 1
    # the recorded violation is what the gate expects; a changed verdict fails it
    write(project, PROVED, "models/bad.dsl")
    r = run("check", good, bad, "--html", "gate")
    no_traceback(r)
    assert r.rc == 1, r.err
    p = page(project / "gate")
    rows = {e[1]["data-status"] for e in p.having("gate-row")}
    assert rows == {"pass", "fail"}
    text = (project / "gate" / "index.html").read_text()
    assert "to accept the new verdicts, re-record:" in text and "models/bad.dsl" in text


def test_compare_links_each_violated_cell_to_its_counterexample(project):
    a = write(project, PROVED.replace('"count"', '"c"'), "models/a.dsl")
    b = write(project, VIOLATED.replace('"count"', '"c"'), "models/b.dsl")
    r = run("compare", a, b, "--html", "cmp")
    no_traceback(r)
    assert r.rc == 1, r.err
    html = (project / "cmp" / "index.html").read_text()
    p = page(project / "cmp")
    traces = p.having("trace")
    assert len(traces) == 1
    links = [e[1]["href"] for e in p.elements if e[0] == "a"]
    assert links == ["#" + traces[0][1]["id"]]
    assert "c: violated by b; not by a." in html


def test_a_weak_memory_counterexample_has_its_execution_graph(project):
    # store buffering: both loads see the initial values under the LKMM
    model = write(project, """
        shared word x = 0;
        shared word y = 0;
        ghost word r0 = 9;
        ghost word r1 = 9;
        ghost word done = 0;
        thread P0 { WRITE_ONCE(x, 1); word a = READ_ONCE(y); atomic { r0 = a; done++; } }
        thread P1 { WRITE_ONCE(y, 1); word b = READ_ONCE(x); atomic { r1 = b; done++; } }
        final { assert(r0 == 1 || r1 == 1, "sb"); }
    """)
    r = run("--memory-model", "lkmm", model, "--html", "out", "-p", "sb")
    no_traceback(r)
    assert r.rc == 1, r.out + r.err
    p = page(project / "out")
    nodes = [e for e in p.elements if e[0] == "g" and "node" in e[1].get("class", "").split()]
    initial = [e for e in nodes if "initial" in e[1]["class"].split()]
    labels = [e[2][0] for e in p.elements if e[0] == "text" and e[2] and e[2][0].startswith(("row ", "x ", "y "))]
    assert {lab for lab in labels if lab.endswith("(initial)")} == {"x = 0 (initial)", "y = 0 (initial)"}
    assert len(initial) == 2
    assert any("R[once] y == 0" in lab for lab in labels) and any("R[once] x == 0" in lab for lab in labels)
    edges = [e[1]["class"].split()[1] for e in p.elements if e[0] == "path" and "edge" in e[1].get("class", "")]
    assert edges.count("rf") >= 2 and edges.count("co") >= 2 and "po" in edges
