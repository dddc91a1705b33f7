"""Report stage, for a browser: `--html DIR` on prove, check and compare writes DIR/index.html.

NOTE(html-report): one static, self-contained page (its style and its few lines of script are
inline, nothing is fetched), rendered from templates/report.html.j2 with Jinja2, autoescaped:
every text a model holds (statements, C lines, names) reaches the page escaped. It holds
- the verdict table of every model (and, for `check`, each model against its record; for
  `compare`, the designs' tables as the text report prints them);
- every counterexample as swimlanes: one lane per thread, time going down, each step in its
  thread's lane with its `file:line`, statement, C line (when it differs from the statement)
  and what it changed. The objects the trace touches are chips above it: the ones the violation
  is about (a leak's refcounts that end wrong, the failing thread's) are highlighted from the
  start, and clicking a chip highlights every step that read or wrote that object. The steps
  the text report narrows away (NOTE(narrow-traces) in cli/narrow.py) are in the page too,
  hidden until "show every step" is ticked;
- under a weak memory model, each counterexample's execution graph drawn as SVG, as herd7 draws
  one: a column per thread of its events in program order (po), the write each read took its
  value from (rf, red), each location's coherence order (co, blue), from the trace's
  WeakExecution (prove/verdict.py), so no Graphviz is needed.

The page is written whole (gate/files.py). DIR is created when missing; an index.html already
in it is replaced only when objcg-prove wrote it (its `generator` meta tag says so): a page of
someone else's is never overwritten, which is a usage error (exit 2) before anything is
verified. The page carries no time stamp, so the same run writes the same page.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
import jinja2

from .. import __version__
from ..gate.files import write_atomically
from ..prove.solver import z3_version
from ..prove.verdict import PROVED, VIOLATED, ModelResult, PropertyResult, Trace, WeakExecution
from .narrow import narrow
from .options import UsageError

GENERATOR = "objcg-prove"
PAGE = "index.html"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


class HtmlTargetError(Exception):
    """--html DIR cannot take the report (a file, or a page objcg-prove did not write)."""


# ---- what the page shows, as data the template reads ---------------------------------------

@dataclass(frozen=True)
class StepView:
    index: int
    thread: str
    lane: int                  # the thread's lane, from 0
    row: int                   # the grid row, from 0 (the steps' order in the trace)
    where: str                 # file:line
    text: str
    c_line: str | None         # None when there is none, or it repeats the statement
    changes: tuple[str, ...]
    objects: tuple[str, ...]   # the shared locations it read or wrote
    focus: bool                # it touches an object the violation is about
    failing: bool              # the step whose check failed (the failing thread's last)
    context: bool              # narrowed away in the text report: hidden until "show every step"


@dataclass(frozen=True)
class GraphNode:
    id: str
    x: float
    y: float
    width: float
    height: float
    label: str
    initial: bool = False


@dataclass(frozen=True)
class GraphEdge:
    kind: str                  # po, rf, co
    path: str                  # the SVG path
    label_x: float
    label_y: float


@dataclass(frozen=True)
class GraphView:
    width: float
    height: float
    lanes: tuple[tuple[str, float], ...]   # (thread, x of its column's centre)
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True)
class TraceView:
    anchor: str
    model: str
    property: str
    kind: str
    violation: str
    total: int
    lanes: tuple[str, ...]
    steps: tuple[StepView, ...]
    hidden: int                          # how many steps are hidden until "show every step"
    objects: tuple[tuple[str, bool], ...]   # (object, about the violation)
    memory_order: tuple[str, ...]
    not_replayed: str | None
    shortest: bool
    graph: GraphView | None
    sequential: bool = False   # a sequentially consistent execution (NOTE(sequential-level) in prove/lkmm.py)


@dataclass(frozen=True)
class PropertyRow:
    name: str
    kind: str
    status: str
    detail: str
    time_s: float
    trace: str | None          # the anchor of its counterexample


@dataclass(frozen=True)
class ModelView:
    path: str
    bound: int
    memory_model: str
    time_s: float
    properties: tuple[PropertyRow, ...]


@dataclass(frozen=True)
class Cell:
    text: str
    status: str | None = None  # a verdict, for its colour
    link: str | None = None    # the anchor of a counterexample


@dataclass(frozen=True)
class Table:
    title: str
    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateRow:
    path: str
    status: str                # pass, fail, inconclusive, error, internal
    record: str
    messages: tuple[str, ...]
    command: str | None        # how to re-record, when it failed


@dataclass
class Report:
    """One page: what a command verified and how it ended."""

    command: str               # prove, check, compare
    argv: tuple[str, ...]
    summary: str               # the command's last line (its tally)
    models: list[ModelView] = field(default_factory=list)
    traces: list[TraceView] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    gate: list[GateRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _anchors: set[str] = field(default_factory=set)

    def add_result(self, result: ModelResult) -> dict[str, str]:
        """The model's verdict table and its counterexamples; returns property -> trace anchor."""
        links: dict[str, str] = {}
        for p in result.properties:
            if p.status == VIOLATED and p.trace is not None:
                links[p.name] = self.add_trace(result.path, p, p.trace, _suffix(result))
        rows = tuple(PropertyRow(p.name, p.kind, p.status, _detail(p), p.time_s, links.get(p.name))
                     for p in result.properties)
        self.models.append(ModelView(result.path, result.bound, result.memory_model, result.time_s, rows))
        return links

    def add_trace(self, model: str, p: PropertyResult, trace: Trace, suffix: str = "") -> str:
        anchor = self._anchor(f"{Path(model).stem}-{p.name}{suffix}")
        self.traces.append(trace_view(anchor, model, p, trace))
        return anchor

    def _anchor(self, wanted: str) -> str:
        base = "t-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in wanted)
        anchor, n = base, 1
        while anchor in self._anchors:
            n += 1
            anchor = f"{base}-{n}"
        self._anchors.add(anchor)
        return anchor


def _suffix(result: ModelResult) -> str:
    return "".join(f"-{k}{v}" for k, v in result.params) if result.params else ""


def _detail(p: PropertyResult) -> str:
    if p.status == VIOLATED and p.trace is not None:
        return f"counterexample of {len(p.trace.steps)} steps" + ("" if p.trace.shortest else " (shortest not confirmed)")
    if p.status == "bounded":
        return f"no violation within the bound, but {p.coverage}"
    if p.status in (PROVED, "vacuous"):
        return p.coverage
    return p.reason


def trace_view(anchor: str, model: str, p: PropertyResult, trace: Trace) -> TraceView:
    """A counterexample as lanes (NOTE(html-report))."""
    shown = {id(s) for s in narrow(trace, p.kind == "leak").rows}
    lanes = tuple(dict.fromkeys(s.thread for s in trace.steps))
    last = max((i for i, s in enumerate(trace.steps) if s.thread == trace.thread), default=-1)
    # what the violation is about: a leak's refcounts that end wrong, else what the failing step touched
    focus = set(trace.focus) or (set(trace.steps[last].reads + trace.steps[last].writes) if last >= 0 else set())
    steps = []
    for row, s in enumerate(trace.steps):
        objects = tuple(dict.fromkeys(s.reads + s.writes))
        c_line = s.c_line if s.c_line and s.c_line.strip() != s.text.strip() else None
        steps.append(StepView(s.index, s.thread, lanes.index(s.thread), row, f"{s.file}:{s.line}", s.text, c_line,
                              s.changes, objects, bool(focus & set(objects)), row == last, id(s) not in shown))
    every = list(dict.fromkeys(o for s in trace.steps for o in s.reads + s.writes))
    chips = tuple((o, o in focus) for o in sorted(every, key=lambda o: (o not in focus, every.index(o))))
    graph = execution_view(trace.execution) if trace.execution is not None else None
    return TraceView(anchor, model, p.name, p.kind, trace.violation, len(trace.steps), lanes, tuple(steps),
                     sum(s.context for s in steps), chips, trace.memory_order, trace.unreplayed or None,
                     trace.shortest, graph, trace.sequential)


# ---- execution graphs as SVG ------------------------------------------------------------------

_COLUMN = 340.0
_NODE_W = 220.0
_NODE_H = 34.0
_ROW = 74.0
_TOP = 92.0          # the first event's row; the initial values sit above
_MARGIN = 16.0


def execution_view(execution: WeakExecution) -> GraphView:
    """The graph of a weak-memory counterexample (NOTE(html-report)): nodes placed in a column per
    thread, edges as SVG paths. Accesses of ghost variables (the model's bookkeeping, no memory
    of the kernel's) are left out, with their edges."""
    events = execution.events
    shown = [i for i, e in enumerate(events) if not e.ghost]
    lanes = list(dict.fromkeys(events[i].thread for i in shown))
    depth = {t: 0 for t in lanes}
    nodes: dict[int, GraphNode] = {}
    for i in shown:
        e = events[i]
        x = _MARGIN + lanes.index(e.thread) * _COLUMN
        y = _TOP + depth[e.thread] * _ROW
        depth[e.thread] += 1
        nodes[i] = GraphNode(f"e{i}", x, y, _NODE_W, _NODE_H, _event_label(e))
    # an initial value is drawn when a shown read took it (writer -1) or a shown write came after it
    read_initial = {events[r].loc for r, w in execution.reads_from if w < 0 and r in nodes}
    written = {loc for loc, writes in execution.coherence if any(w in nodes for w in writes)}
    wanted = [loc for loc, _ in execution.initial if loc in read_initial or loc in written]
    width = max(len(lanes), len(wanted), 1) * _COLUMN + _MARGIN
    init_w = min(_NODE_W, (width - _MARGIN) / max(len(wanted), 1) - 10)
    initial = dict(execution.initial)
    inits = {loc: GraphNode(f"init-{k}", _MARGIN + k * (init_w + 10), 14.0, init_w, _NODE_H,
                            f"{loc} = {initial[loc]} (initial)", initial=True) for k, loc in enumerate(wanted)}
    edges: list[GraphEdge] = []
    for t in lanes:
        ids = [i for i in shown if events[i].thread == t]
        edges += [_edge("po", nodes[a], nodes[b]) for a, b in zip(ids, ids[1:])]
    for reader, writer in execution.reads_from:
        source = inits.get(events[reader].loc) if writer < 0 else nodes.get(writer)
        if reader in nodes and source is not None:
            edges.append(_edge("rf", source, nodes[reader]))
    for loc, writes in execution.coherence:
        chain = ([inits[loc]] if loc in inits else []) + [nodes[w] for w in writes if w in nodes]
        edges += [_edge("co", a, b) for a, b in zip(chain, chain[1:])]
    height = _TOP + max(depth.values(), default=0) * _ROW + _MARGIN
    centres = tuple((t, _MARGIN + k * _COLUMN + _NODE_W / 2) for k, t in enumerate(lanes))
    return GraphView(width, height, centres, tuple(inits.values()) + tuple(nodes.values()), tuple(edges))


def _event_label(e) -> str:   # type: ignore[no-untyped-def]
    if e.kind == "F":
        return f"F[{e.mode}] {e.what}"
    value = e.read if e.kind == "R" else e.written if e.kind == "W" else \
        f"{e.read} -> {e.written}" if e.wrote else f"{e.read} (no write)"
    return f"row {e.row}: {e.kind}[{e.mode}] {e.loc} {'==' if e.kind == 'R' else '='} {value}"


def _edge(kind: str, a: GraphNode, b: GraphNode) -> GraphEdge:
    """An arrow from a's box to b's: straight down between neighbours of one column, else a curve
    that leaves the column, so arrows of one thread do not lie on its po line."""
    ax, ay = a.x + a.width / 2, a.y + a.height / 2
    bx, by = b.x + b.width / 2, b.y + b.height / 2
    if kind == "po":
        return GraphEdge(kind, f"M {ax:.1f} {a.y + a.height:.1f} L {bx:.1f} {b.y - 2:.1f}", ax + 6, (a.y + a.height + b.y) / 2)
    same_column = abs(ax - bx) < 1 and not a.initial
    start = (ax, a.y + a.height) if a.initial else (a.x + a.width if same_column or bx > ax else a.x, ay)
    end = (b.x + b.width if same_column or ax > bx else b.x, by)
    if same_column:
        bend = {"rf": 40.0, "co": 60.0}.get(kind, 28.0)
        cx, cy = max(start[0], end[0]) + bend, (start[1] + end[1]) / 2
    else:
        cx, cy = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2 - {"rf": 18.0, "co": -18.0}.get(kind, 0.0)
    path = f"M {start[0]:.1f} {start[1]:.1f} Q {cx:.1f} {cy:.1f} {end[0]:.1f} {end[1]:.1f}"
    return GraphEdge(kind, path, (start[0] + 2 * cx + end[0]) / 4, (start[1] + 2 * cy + end[1]) / 4)


# ---- rendering and writing ----------------------------------------------------------------------

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    return env


def render_html(report: Report) -> str:
    """The page (NOTE(html-report))."""
    counts: dict[str, int] = {}
    for m in report.models:
        for p in m.properties:
            counts[p.status] = counts.get(p.status, 0) + 1
    return _environment().get_template("report.html.j2").render(
        report=report, counts=counts, generator=f"{GENERATOR} {__version__}",
        versions=f"objcg-prove {__version__}, z3 {z3_version()}, Python {platform.python_version()}")


def check_target(directory: str) -> None:
    """Raise HtmlTargetError when `directory` cannot take the page: it is a file, or its
    index.html was not written by objcg-prove (NOTE(html-report)). Called before any work."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise HtmlTargetError(f"--html {directory}: not a directory")
    page = path / PAGE
    if page.is_dir():
        raise HtmlTargetError(f"--html {directory}: {page} is a directory")
    if page.exists() and not _ours(page):
        raise HtmlTargetError(f"--html {directory}: {page} exists and objcg-prove did not write it; "
                              "it would be overwritten (name another directory, or remove it)")


def _ours(page: Path) -> bool:
    try:
        with open(page, encoding="utf-8", errors="replace") as f:
            head = f.read(2048)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR} ' in head


def write_html(directory: str, report: Report) -> str:
    """Write DIR/index.html whole; returns its path. Raises HtmlTargetError or OSError."""
    check_target(directory)
    page = Path(directory) / PAGE
    write_atomically(page, render_html(report))
    return str(page)


def html_target(directory: str | None) -> None:
    """--html DIR: refuse, before any work, a DIR that cannot take the page (NOTE(html-report)
    in cli/html_report.py); raises UsageError."""
    if directory is not None:
        try:
            check_target(directory)
        except HtmlTargetError as exc:
            raise UsageError(str(exc)) from None


def save_html(directory: str, report: Report, stdout: TextIO | None, stderr: TextIO) -> bool:
    """Write the page of `--html DIR`; False when it cannot be written (said on stderr)."""
    try:
        page = write_html(directory, report)
    except HtmlTargetError as exc:
        stderr.write(f"objcg-prove: error: {exc}\n")
        return False
    except OSError as exc:
        stderr.write(f"objcg-prove: error: cannot write {exc.filename or directory}: {exc.strerror}\n")
        return False
    if stdout is not None:
        stdout.write(f"wrote {page}\n")
    return True
