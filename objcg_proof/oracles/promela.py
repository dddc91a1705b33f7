"""Export a model to Promela, so that SPIN can cross-check the prover's verdicts.

Input: a model file, parsed (`parser.load_model`) and resolved (`resolve.resolve`, with the
`-D` values and `--bound`) to an `ir.Program`. The program is never unrolled or encoded: the
export shares nothing with the prover's back end (unroll.py, encode.py), which is the point of
the cross-check. Output: the text of a Promela model with the semantics of docs/semantics.md
(`PromelaModel`), or `UserError` diagnostics for a bad model (the prover's own diagnostics) or
for a construct the export cannot represent exactly. The command
`objcg-prove export --format promela MODEL [-D NAME=V] [--bound K] [--property NAME] [-o FILE]`
is cli/export.py.

How the model is mapped:

- Words are Promela `int`s holding values in [0, 2^w), masked after every operation that can
  leave that range (so w is at most 31; pan.c must be compiled with `-fwrapv`, because an
  intermediate product may overflow an int before it is masked). Pointers are the addresses of
  `ir.Layout` (object k at 8(k + 1)).
- Every shared location of `ir.Layout.locations` is one global (`g_` shared variables and array
  elements, `o_` object fields, `rc_` refcounts) with its initial value. A pointer or an array
  index that is not a constant selects among the candidate locations.
- Each thread is one `active proctype`, procedures inlined per call site (locals renamed, and
  reset to 0 when the call returns so that dead values do not split states). The thread's code
  becomes a control-flow graph cut into *nodes*: a node starts at each atomic step (a unit that
  accesses shared memory, waits, or a whole `atomic { }` block) and takes along every local
  unit that follows it up to the next step, so local units are never scheduling points. Each
  node is one `d_step` (or one `atomic` when it makes a nondeterministic choice) in a loop that
  dispatches on the thread's `pc`; a wait (`await`, `spin_lock`) is the node's guard, so a
  waiting thread is blocked. Loops are real loops: SPIN explores every execution, unbounded
  (`--bound` is accepted only to report the same diagnostics as the prover).
- Properties are numbered 1 (leak), 2 (uaf), 3 (deadlock), then the model's own in order of
  first appearance (`PromelaModel.properties`). `spin -DPROPERTY=n` keeps only property n's
  checks (0 or unset: all): an assert, lost_update, uaf or leak site is an
  `assert(c || !PROP_n_name)`, whose marker names the property in pan's "assertion violated"
  line. `spin -DPROPERTY=-1` is the survey mode: a failing check prints
  `objcg-prove: property n (name) violated` and the search goes on, so one exhaustive run
  (pan compiled with -DPRINTF -DNOREDUCE, run with -c0) finds every violated property.
  Leak is checked by the thread that finishes last: every refcount's count bits must be 0.
  Deadlock is SPIN's invalid end state: a thread blocked at a wait node while every other is
  finished or blocked (when deadlock is not selected, the dispatch loop carries an `end`
  label, so blocked threads are valid end states).
- `assume(c)`: in a local unit, a false one stops the thread (a self-loop: neither finished
  nor blocked, as in the semantics); a step with one can only run when it holds (the thread
  waits there, again with a self-loop); inside `atomic { }` the block saves what it may write,
  keeps its checks until it completes, and a false assume restores the saved values.
- A wait condition (`await`, `spin_lock`, a step's `assume`) is one Promela expression on the
  state before the step: its own writes (xchg in an await, say) are substituted in. With
  `nondet()` in it, the thread can move while some choice makes it true: the guard is the
  disjunction over every combination of values (at most MAX_CHOICES), and the step runs with
  one of the combinations that make it true.
- A failed access (docs/semantics.md, "Failed accesses": an index out of bounds, an invalid
  pointer in `p->f` or a refcount builtin, the address or a const field of an object that does
  not exist) is a `uaf` check that fails, then a jump out of the node to the thread's stop
  (`pc` = the stop node: neither finished nor blocked); in an atomic block with assume() the
  block's checks so far are committed first, and nothing it wrote is undone. A wait guard is
  true where the evaluation reaches a failed access before a false wait (`pure`'s poison):
  for an atomic block `p1 || (w1 && (p2 || ...))` over its statements up to its last wait.

Known limits, rejected with a diagnostic rather than exported wrongly: words wider than 31
bits; a wait inside a branch or a called procedure of an atomic block, or one that depends on
an earlier statement of its block, or that follows a procedure call in it; a wait condition
with more than MAX_CHOICES combinations of nondet() values (those of the statements before it
count where they decide whether one fails an access). Each procedure argument is its own
unit, as docs/semantics.md ("Units") says.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from ..lang import ir
from ..lang.diagnostics import Diagnostic, SourceCache, Span, UserError
from ..lang.parser import load_model
from ..lang.resolve import resolve

MAX_WIDTH = 31
MAX_CHOICES = 64           # combinations of nondet() values a wait condition may enumerate
BUILTIN_PROPERTIES = ("leak", "uaf", "deadlock")
_TEMP = re.compile(r"__T(\d+)")
FAIL = "goto __FAILED__;"   # in a unit's code: a failed access, the jump to its `fail` instruction


@dataclass(frozen=True)
class PromelaModel:
    """An exported model: the text, and its properties in `-DPROPERTY=n` order (n = index + 1)."""

    text: str
    properties: tuple[str, ...]
    kinds: tuple[str, ...]
    # properties with at least one check in the text (the others cannot be violated in SPIN;
    # deadlock counts when some thread can wait)
    checked: tuple[str, ...]

    def number(self, name: str) -> int:
        return self.properties.index(name) + 1


# ---- the control-flow graph of one thread ----------------------------------------------------
@dataclass(frozen=True)
class _Goto:
    target: int


@dataclass(frozen=True)
class _Branch:
    cond: str
    then: int
    other: int


@dataclass
class _Instr:
    """Promela statements (temporaries written `__Tk`), then a jump. FINISH and STOP end a thread."""

    code: list[str]
    nxt: _Goto | _Branch | None
    kind: str = ""                 # "" | "finish" | "stop" | "rollback" (undo the node, stay)
    boundary: bool = False         # an atomic step starts here: a scheduling point
    guard: str | None = None       # the step can only run when this holds
    assume: bool = False           # the guard is an assume(): waiting there is not blocking
    nondet: bool = False
    ntemps: int = 0
    in_atomic: bool = False
    fail: int | None = None        # where a failed access in `code` (FAIL) goes: a "stop" instruction


@dataclass(frozen=True)
class _Ctx:
    inst: int                      # inlined call instance (0: the thread's own body)
    brk: int | None = None
    cont: int | None = None
    exit: int | None = None        # the procedure's exit instruction (None in the thread body)
    ret: str | None = None         # where `return e` stores e
    in_atomic: bool = False
    locals: list[str] | None = None  # the instance's locals, reset on return
    rollback: int | None = None      # in an atomic block with assume(): where a false one goes
    fail: int | None = None          # where a failed access goes (None: the thread's `stop`)


@dataclass
class _Acc:
    """A shared location as candidates: (condition or None, global); `valid` None = always."""

    cands: list[tuple[str | None, str]]
    valid: str | None
    msg: str


def _or(*parts: str) -> str:
    kept = [p for p in parts if p]
    return "" if not kept else kept[0] if len(kept) == 1 else "(" + " || ".join(kept) + ")"


def _ident(text: str) -> str:
    """A Promela identifier part: `task[0]` -> `task_0`, `f()` -> `f__`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text.replace("[", "_").replace("]", ""))


def _unsupported(span: Span, what: str) -> UserError:
    return UserError(Diagnostic(span, f"{what} is not supported by the Promela export",
                                ("the prover accepts it; only the SPIN cross-check cannot represent it exactly",)))


def _rmw(op: str, r: str, args: list[str], width: int, mask: int) -> tuple[str, str]:
    """An atomic builtin on a word read as `r`: (the value written, the result)."""
    a = args + ["0", "0"]
    bit = f"(({a[0]} < {width}) -> ((1 << {a[0]}) & {mask}) : 0)"
    return {
        "xchg": (a[0], r),
        "cmpxchg": (f"(({r} == {a[0]}) -> {a[1]} : {r})", r),
        "try_cmpxchg": (f"(({r} == {a[0]}) -> {a[1]} : {r})", f"({r} == {a[0]})"),
        "set_bit": (f"({r} | {bit})", "0"),
        "test_and_set_bit": (f"({r} | {bit})", f"(({r} & {bit}) != 0)"),
        "clear_bit": (f"({r} & (~{bit} & {mask}))", "0"),
        "test_and_clear_bit": (f"({r} & (~{bit} & {mask}))", f"(({r} & {bit}) != 0)"),
        "atomic_inc": (f"(({r} + 1) & {mask})", "0"),
        "atomic_dec": (f"(({r} - 1) & {mask})", "0"),
        "atomic_add": (f"(({r} + {a[0]}) & {mask})", "0"),
        "atomic_sub": (f"(({r} - {a[0]}) & {mask})", "0"),
        "atomic_dec_and_test": (f"(({r} - 1) & {mask})", f"((({r} - 1) & {mask}) == 0)"),
        "atomic_inc_not_zero": (f"(({r} != 0) -> (({r} + 1) & {mask}) : {r})", f"({r} != 0)"),
        "spin_lock": ("1", "0"),
    }[op]


def _ref(op: str, r: str, kill: int, mask: int) -> tuple[str | None, str]:
    """A refcount builtin on a refcount word read as `r`: (the value written or None, the result)."""
    alive = f"(({r} & {kill - 1}) != 0)"
    live = f"({alive} && (({r} & {kill}) == 0))"
    return {
        "get": (f"(({r} + 1) & {mask})", "0"),
        "put": (f"(({r} - 1) & {mask})", "0"),
        "kill": (f"((({r} | {kill}) - 1) & {mask})", "0"),
        "tryget": (f"({alive} -> (({r} + 1) & {mask}) : {r})", alive),
        "tryget_live": (f"({live} -> (({r} + 1) & {mask}) : {r})", live),
        "refcount": (None, f"({r} & {kill - 1})"),
    }[op]


class _Exporter:
    """Everything model-wide: names of globals, property numbers, the threads' code."""

    def __init__(self, prog: ir.Program, keep: tuple[str, ...], sources: SourceCache | None) -> None:
        self.prog = prog
        self.layout = prog.layout
        self.width = prog.layout.width
        self.mask = (1 << self.width) - 1
        self.kill = prog.layout.kill_bit
        self.count_mask = self.kill - 1
        self.sources = sources
        self.props: list[tuple[str, str]] = [(p, p) for p in BUILTIN_PROPERTIES] + list(prog.properties)
        self.numbers = {name: i + 1 for i, (_, name) in enumerate(self.props)}
        self.keep = {name for kind, name in self.props if not keep or name in keep or kind in keep}
        self.sites: set[str] = set()
        self.hidden_temps = 0
        self.loc_names = self._location_names()

    # ---- names
    def _location_names(self) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        objects = {o.name for o in self.layout.objects}
        for loc in self.layout.locations:
            if loc.refcount_of is not None:
                base = "rc_" + _ident(self.layout.objects[loc.refcount_of].name)
            else:
                head, _, tail = loc.name.rpartition(".")
                if head in objects:
                    base = f"o_{_ident(head)}__{_ident(tail)}"
                else:
                    base = "g_" + _ident(loc.name)
            name = base if base not in seen else f"{base}_{loc.id}"
            seen.add(name)
            names.append(name)
        return names

    def marker(self, prop: str) -> str:
        return f"PROP_{self.numbers[prop]}_{_ident(prop)}"

    def guard_line(self, prop: str) -> str:
        """The `#if` that keeps what only `prop` needs (in the survey mode too)."""
        return f"#if PROPERTY < 0 || PROPERTY == 0 || PROPERTY == {self.numbers[prop]}"

    def check(self, prop: str, cond: str | None) -> list[str]:
        """A check site of `prop` (cond None: the site always fails when reached): an assert, or
        in the survey mode (PROPERTY < 0) a report that lets the search go on."""
        self.sites.add(prop)
        if prop not in self.keep:
            return []
        n = self.numbers[prop]
        report = f'printf("objcg-prove: property {n} ({_ident(prop)}) violated\\n");'
        survey = [report] if cond is None else ["if", f":: !{cond} -> {report}", ":: else -> skip;", "fi;"]
        marker = self.marker(prop)
        asserted = f"assert(!{marker});" if cond is None else f"assert({cond} || !{marker});"
        return ["#if PROPERTY < 0"] + survey + [f"#elif PROPERTY == 0 || PROPERTY == {n}", asserted, "#endif"]

    def comment(self, span: Span) -> str:
        text = ""
        if self.sources is not None and span.line:
            text = (self.sources.line(span.file, span.line) or "").strip()
            cut = text.find("//")
            text = " ".join((text[:cut] if cut >= 0 else text).split())
        where = f"{span.file}:{span.line}"
        return "/* " + (f"{where}: {text}" if text else where).replace("*/", "* /") + " */"

    # ---- the whole model
    def run(self) -> PromelaModel:
        if self.width > MAX_WIDTH:
            raise UserError(Diagnostic(self.prog.width_span or Span(self.prog.path, 1, 1),
                                       f"{self.width}-bit words are not supported by the Promela export (at most {MAX_WIDTH} bits)",
                                       ("declare a smaller 'width' for the SPIN cross-check",)))
        threads = [_Thread(self, t) for t in self.prog.threads]
        bodies = [t.emit() for t in threads]
        waits = any(t.has_wait for t in threads)
        if waits:
            self.sites.add("deadlock")
        refcounted = [o for o in self.layout.objects if self.layout.struct(o.struct).refcounted]
        if refcounted:
            self.sites.add("leak")
        out = self._header(refcounted)
        for body in bodies:
            out += [""] + body
        checked = tuple(name for _, name in self.props if name in self.sites)
        return PromelaModel("\n".join(out) + "\n", tuple(name for _, name in self.props),
                            tuple(kind for kind, _ in self.props), checked)

    def _header(self, refcounted: list[ir.ObjectInfo]) -> list[str]:
        prog = self.prog
        params = ", ".join(f"{k}={v}" for k, v in prog.params) or "none"
        lines = [
            f"/* {prog.path}: exported by `objcg-prove export --format promela` for a cross-check with SPIN.",
            f" * params: {params}; width {self.width} bits; loops are not bounded (the prover's bound is {prog.bound}).",
            " * Check one property n (0 or unset: all of them; pan stops at the first violation):",
            " *   spin -DPROPERTY=n -a FILE && gcc -O2 -fwrapv -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -o pan pan.c",
            " *   ./pan -m1000000",
            " *   A violated assert, lost_update, uaf or leak check is an 'assertion violated' naming",
            " *   PROP_n_<name> (leak is checked when every thread has finished); a deadlock is an",
            " *   'invalid end state' (reported only when n is 3 or 0).",
            " * Survey every property in one exhaustive search (each violation is printed and the search",
            " * goes on; the 'errors' pan counts are deadlocks, i.e. invalid end states):",
            " *   spin -DPROPERTY=-1 -a FILE",
            " *   gcc -O2 -fwrapv -DSAFETY -DCOLLAPSE -DVECTORSZ=4096 -DNOREDUCE -DPRINTF -o pan pan.c",
            " *   ./pan -m1000000 -c0 | grep 'objcg-prove: property'",
            " * properties:",
        ]
        for i, (kind, name) in enumerate(self.props):
            kept = "" if name in self.keep else "  (not exported: --property)"
            lines.append(f" *   {i + 1:2d}  {name} ({kind}){kept}")
        lines += [" */", "", "#ifndef PROPERTY", "#define PROPERTY 0", "#endif", ""]
        lines.append("/* property markers: constant, not part of the state */")
        for _, name in self.props:
            lines.append(f"hidden byte {self.marker(name)} = 1;")
        lines.append("")
        lines.append("/* shared memory: one global per location of the layout */")
        for loc in self.layout.locations:
            what = loc.name + (" (ghost)" if loc.ghost else "")
            lines.append(f"int {self.loc_names[loc.id]} = {loc.init & self.mask};  /* {what} */")
        if self.hidden_temps:
            lines.append("")
            lines.append("/* temporaries of d_step nodes: written before read inside one d_step */")
            lines.append("hidden int " + ", ".join(f"T{i}" for i in range(self.hidden_temps)) + ";")
        if refcounted and "leak" in self.keep:
            lines += ["", self.guard_line("leak"), "byte nfinished = 0;  /* threads that have finished */", "#endif"]
        return lines

    def leak_code(self) -> list[str]:
        if "leak" not in self.keep:
            return []
        refcounted = [o for o in self.layout.objects if self.layout.struct(o.struct).refcounted]
        if not refcounted:
            return []
        zero = " && ".join(f"(({self.loc_names[self.layout.refcount_location(o.index)]} & {self.count_mask}) == 0)"
                           for o in refcounted)
        return ([self.guard_line("leak"), "nfinished = nfinished + 1;", "if",
                 f":: nfinished == {len(self.prog.threads)} -> skip;"]
                + ["   " + line for line in self.check("leak", f"({zero})")]
                + [":: else -> skip;", "fi;", "#endif"])


class _Unit:
    """The Promela code of one unit (statement): expressions are compiled to statements that
    leave their value in a temporary, local or literal; shared accesses happen in order."""

    def __init__(self, thread: "_Thread", ctx: _Ctx) -> None:
        self.t = thread
        self.x = thread.x
        self.ctx = ctx
        self.lines: list[str] = []
        self.ntemps = 0
        self.shared = False
        self.nondet = False
        self.fails = False                  # the unit has a failed access (`failed`)
        self.overlay: dict[str, str] = {}   # pure(): values the step's own writes left

    def temp(self) -> str:
        self.ntemps += 1
        return f"__T{self.ntemps - 1}"

    def sub(self, fn: Callable[[], str]) -> tuple[list[str], str]:
        saved, self.lines = self.lines, []
        value = fn()
        code, self.lines = self.lines, saved
        return code, value

    def arbitrary(self, target: str, hi: int) -> list[str]:
        self.nondet = True
        return [f"select({target} : 0 .. {hi});"]

    def uaf(self, cond: str | None) -> None:
        self.lines += self.t.check("uaf", cond)

    def freeze(self, value: str, later: ir.Expr | None) -> str:
        """Keep `value` in a temporary if `later` (evaluated next) may change a local it names."""
        if later is None or not _writes_local(later) or value.isdigit() or value.startswith("__T"):
            return value
        t = self.temp()
        self.lines.append(f"{t} = {value};")
        return t

    def option(self, cond: str, body: list[str]) -> list[str]:
        return [f":: {cond} -> skip;"] + ["   " + line for line in body]

    # ---- expressions
    def ev(self, e: ir.Expr) -> str:
        x, m = self.x, self.x.mask
        if isinstance(e, ir.Const):
            return str(e.value & m)
        if isinstance(e, ir.Local):
            return self.t.local(e.var, self.ctx)
        if isinstance(e, ir.Current):
            return str(self.t.current_address(e.span))
        if isinstance(e, ir.Unary):
            v = self.ev(e.operand)
            return {"!": f"({v} == 0)", "~": f"(~{v} & {m})", "-": f"(-{v} & {m})", "+": v}[e.op]
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||"):
                a = self.ev(e.left)
                code, b = self.sub(lambda: self.ev(e.right))
                if not code:
                    return f"(({a} != 0) {e.op} ({b} != 0))"
                t = self.temp()
                short = "0" if e.op == "&&" else "1"
                go = f"({a} != 0)" if e.op == "&&" else f"({a} == 0)"
                self.lines += ["if"] + self.option(go, code + [f"{t} = ({b} != 0);"]) + [f":: else -> {t} = {short};", "fi;"]
                return t
            a = self.freeze(self.ev(e.left), e.right)
            b = self.ev(e.right)
            return self.binary(e.op, a, b)
        if isinstance(e, ir.Ternary):
            c = self.ev(e.cond)
            ca, a = self.sub(lambda: self.ev(e.then))
            cb, b = self.sub(lambda: self.ev(e.other))
            if not ca and not cb:
                return f"(({c} != 0) -> {a} : {b})"
            t = self.temp()
            self.lines += (["if"] + self.option(f"({c} != 0)", ca + [f"{t} = {a};"])
                           + self.option("else", cb + [f"{t} = {b};"]) + ["fi;"])
            return t
        if isinstance(e, ir.AddressOf):
            objs = self.x.layout.objects
            return self.choose(e.obj, None, "", [objs[i].address for i in self._all(e.obj, "")],
                               "object array index out of bounds")
        if isinstance(e, ir.ConstField):
            objs = self.x.layout.objects
            cands = self._all(e.obj, e.struct)
            values = [dict(objs[i].const_values)[e.field] for i in cands]
            return self.choose(e.obj, e.pointer, e.struct, values, f"NULL or invalid pointer dereferenced ('->{e.field}')")
        if isinstance(e, ir.Read):
            acc = self.location(e.loc)
            self.shared = True
            t = self.temp()
            self.access(acc, lambda lv: [f"{t} = {lv};"])
            return t
        if isinstance(e, ir.AtomicOp):
            return self.atomic_op(e)
        if isinstance(e, ir.RefOp):
            return self.ref_op(e)
        if isinstance(e, ir.Nondet):
            chosen = self.t.prechosen.get(id(e))
            if chosen is not None:
                return chosen
            t = self.temp()
            hi = m if e.limit is None else min(e.limit - 1, m)
            self.lines += self.arbitrary(t, hi)
            return t
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def binary(self, op: str, a: str, b: str) -> str:
        m, w = self.x.mask, self.x.width
        if op in ("+", "-", "*"):
            return f"(({a} {op} {b}) & {m})"
        if op in ("&", "|", "^", "==", "!=", "<", "<=", ">", ">="):
            return f"({a} {op} {b})"
        if op == "<<":
            return f"(({b} < {w}) -> (({a} << {b}) & {m}) : 0)"
        if op == ">>":
            return f"(({b} < {w}) -> ({a} >> {b}) : 0)"
        if op == "/":
            self.uaf(f"({b} != 0)")
            return f"(({b} == 0) -> {m} : ({a} / {b}))"
        if op == "%":
            self.uaf(f"({b} != 0)")
            return f"(({b} == 0) -> {a} : ({a} % {b}))"
        raise AssertionError(op)

    def _all(self, obj: ir.ObjectRef | None, struct: str) -> list[int]:
        if obj is not None:
            return list(obj.candidates)
        return [o.index for o in self.x.layout.objects if o.struct == struct]

    def _conds(self, obj: ir.ObjectRef | None, pointer: ir.Expr | None, struct: str) -> tuple[list[str | None], str | None]:
        """Per candidate object, the condition that it is the one meant (None: it is), and the
        validity condition (None: always valid, "0": never)."""
        objs = self.x.layout.objects
        if obj is not None:
            if obj.index is None:
                return [None], None
            i = self.ev(obj.index)
            if i.isdigit():
                k = int(i)
                return [None if j == k else "0" for j in range(len(obj.candidates))], (None if k < len(obj.candidates) else "0")
            return [f"({i} == {k})" for k in range(len(obj.candidates))], f"({i} < {len(obj.candidates)})"
        assert pointer is not None
        p = self.ev(pointer)
        cands = [o for o in objs if o.struct == struct]
        if p.isdigit():
            hit = int(p)
            return [None if o.address == hit else "0" for o in cands], (None if any(o.address == hit for o in cands) else "0")
        return [f"({p} == {o.address})" for o in cands], _or(*[f"({p} == {o.address})" for o in cands]) or "0"

    def choose(self, obj: ir.ObjectRef | None, pointer: ir.Expr | None, struct: str, values: list[int], msg: str) -> str:
        """The value belonging to the object meant (a const field, an address), or any word."""
        conds, valid = self._conds(obj, pointer, struct)
        if valid is None:
            return str(values[conds.index(None)])
        t = self.temp()
        if valid == "0":
            self.lines += self.failed()
            return t
        self.lines.append("if")
        for c, v in zip(conds, values):
            self.lines += self.option(c or "true", [f"{t} = {v};"])
        self.lines += self.option("else", self.failed()) + ["fi;"]
        return t

    def location(self, loc: ir.SharedLoc) -> _Acc:
        names = self.x.loc_names
        if loc.name:
            ids = list(loc.candidates)
            if loc.index is None:
                return _Acc([(None, names[ids[0]])], None, "")
            i = self.ev(loc.index)
            msg = f"index out of bounds for '{loc.name}'"
            if i.isdigit():
                k = int(i)
                return _Acc([(None, names[ids[k]])], None, msg) if k < len(ids) else _Acc([], "0", msg)
            return _Acc([(f"({i} == {k})", names[x]) for k, x in enumerate(ids)], f"({i} < {len(ids)})", msg)
        objs = self._all(loc.obj, loc.struct)
        conds, valid = self._conds(loc.obj, loc.pointer, loc.struct)
        lvs = [names[self.x.layout.field_location(o, loc.field)] for o in objs]
        msg = f"NULL or invalid pointer dereferenced ('->{loc.field}')"
        if valid is None:
            return _Acc([(None, lvs[conds.index(None)])], None, msg)
        return _Acc([(c, lv) for c, lv in zip(conds, lvs) if c != "0"], valid, msg)

    def access(self, acc: _Acc, valid_code: Callable[[str], list[str]]) -> None:
        """The access on the location meant; if there is none, it fails (`failed`)."""
        if acc.valid is None:
            self.lines += valid_code(acc.cands[0][1])
            return
        if not acc.cands:
            self.lines += self.failed()
            return
        self.lines.append("if")
        for cond, lv in acc.cands:
            self.lines += self.option(cond or "true", valid_code(lv))
        self.lines += self.option("else", self.failed()) + ["fi;"]

    def failed(self) -> list[str]:
        """A failed access (docs/semantics.md, "Failed accesses"): a uaf, and the thread stops
        right there, keeping what its step did so far (`FAIL`: _Thread.emit_node makes it a
        jump to the unit's `fail` instruction)."""
        self.fails = True
        return self.t.check("uaf", None) + [FAIL]

    def atomic_op(self, e: ir.AtomicOp) -> str:
        m, w = self.x.mask, self.x.width
        args: list[str] = []
        for i, a in enumerate(e.args):
            later = e.args[i + 1] if i + 1 < len(e.args) else (e.loc.index or e.loc.pointer or (e.loc.obj.index if e.loc.obj else None))
            args.append(self.freeze(self.ev(a), later))
        acc = self.location(e.loc)
        self.shared = True
        op = e.op
        if op == "spin_unlock":
            self.access(acc, lambda lv: [f"{lv} = 0;"])
            return "0"
        r = self.temp()
        new, result = _rmw(op, r, args, w, m)
        self.access(acc, lambda lv: [f"{r} = {lv};", f"{lv} = {new};"])
        if result not in ("0", r):
            t = self.temp()
            self.lines.append(f"{t} = {result};")
            result = t
        if op == "try_cmpxchg" and e.out is not None:
            # after the result: `&old` is also the expected value args[0] names
            out = self.t.local(e.out, self.ctx)
            self.lines.append(f"{out} = (({r} == {args[0]}) -> {out} : {r});")
        return result

    def ref_op(self, e: ir.RefOp) -> str:
        x = self.x
        m, kill, cm = x.mask, x.kill, x.count_mask
        objs = [o for o in x.layout.objects if o.struct == e.struct]
        rcs = [x.loc_names[x.layout.refcount_location(o.index)] for o in objs]
        p = self.ev(e.pointer)
        if p.isdigit():
            hit = [lv for o, lv in zip(objs, rcs) if o.address == int(p)]
            acc = _Acc([(None, hit[0])], None, "") if hit else _Acc([], "0", "")
        else:
            conds = [f"({p} == {o.address})" for o in objs]
            acc = _Acc(list(zip(conds, rcs)), _or(*conds) or "0", "")
        self.shared = True
        r = self.temp()
        res = self.temp() if e.op in ("tryget", "tryget_live", "refcount") else "0"
        alive = f"(({r} & {cm}) != 0)"
        written, result = _ref(e.op, r, kill, m)

        def valid(lv: str) -> list[str]:
            out = [f"{r} = {lv};"]
            if e.op in ("get", "put"):
                out += self.t.check("uaf", alive)
            elif e.op == "kill":
                out += self.t.check("uaf", f"(({r} & {kill}) == 0)") + self.t.check("uaf", alive)
            if res != "0":
                out.append(f"{res} = {result};")
            if written is not None:
                out.append(f"{lv} = {written};")
            return out

        self.access(acc, valid)
        return res

    # ---- wait conditions: one expression on the state before the step
    def pure(self, e: ir.Expr, span: Span) -> tuple[str, str]:
        """(value, poison): the value `e` would have if the step ran now, as one expression on
        the globals and locals (the step's own earlier writes are in `self.overlay`, its choices
        were made before it: `self.t.prechosen`), and the condition that the evaluation reaches
        an invalid access (whose value the semantics leaves open)."""
        m, x = self.x.mask, self.x
        if isinstance(e, ir.Local):
            name = self.t.local(e.var, self.ctx)
            return self.overlay.get(name, name), ""
        if isinstance(e, (ir.Const, ir.Current)):
            return self.ev(e), ""
        if isinstance(e, ir.Nondet):
            chosen = self.t.prechosen.get(id(e))
            if chosen is None:
                raise AssertionError("nondet() in a wait condition was not chosen before the step")
            return chosen, ""
        if isinstance(e, ir.Unary):
            v, p = self.pure(e.operand, span)
            return {"!": f"({v} == 0)", "~": f"(~{v} & {m})", "-": f"(-{v} & {m})", "+": v}[e.op], p
        if isinstance(e, ir.Binary):
            a, pa = self.pure(e.left, span)
            if e.op in ("&&", "||"):
                # the right operand's writes happen only if it is evaluated
                saved = dict(self.overlay)
                b, pb = self.pure(e.right, span)
                taken = f"({a} != 0)" if e.op == "&&" else f"({a} == 0)"
                self.merge(taken, saved)
                value = f"(({a} != 0) {e.op} ({b} != 0))"
                return value, _or(pa, f"({taken} && {pb})" if pb else "")
            b, pb = self.pure(e.right, span)
            saved_lines = len(self.lines)
            value = self.binary(e.op, a, b)
            del self.lines[saved_lines:]   # the division's uaf check is made in the step itself
            return value, _or(pa, pb)
        if isinstance(e, ir.Ternary):
            c, pc = self.pure(e.cond, span)
            a, b, poison = self.pure_branches(c, lambda: self.pure(e.then, span), lambda: self.pure(e.other, span))
            return f"(({c} != 0) -> {a} : {b})", _or(pc, poison)
        if isinstance(e, (ir.AddressOf, ir.ConstField)):
            obj = e.obj
            pointer = e.pointer if isinstance(e, ir.ConstField) else None
            struct = e.struct if isinstance(e, ir.ConstField) else ""
            objs = x.layout.objects
            cands = self._all(obj, struct)
            if isinstance(e, ir.AddressOf):
                values = [objs[i].address for i in cands]
            else:
                values = [dict(objs[i].const_values)[e.field] for i in cands]
            conds, valid, poison = self.pure_conds(obj, pointer, struct, span)
            return self.chain(conds, [str(v) for v in values]), _or(poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.Read):
            conds, lvs, valid, poison = self.pure_location(e.loc, span)
            return self.chain(conds, [self.overlay.get(lv, lv) for lv in lvs]), _or(poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.AtomicOp):
            args = [self.pure(a, span) for a in e.args]
            conds, lvs, valid, poison = self.pure_location(e.loc, span)
            r = self.chain(conds, [self.overlay.get(lv, lv) for lv in lvs])
            new, result = _rmw(e.op, r, [v for v, _ in args], x.width, m)
            self.write(conds, lvs, new)
            if e.op == "try_cmpxchg" and e.out is not None:
                out = self.t.local(e.out, self.ctx)
                self.overlay[out] = f"(({r} == {args[0][0]}) -> {self.overlay.get(out, out)} : {r})"
            return result, _or(*[p for _, p in args], poison, f"!{valid}" if valid else "")
        if isinstance(e, ir.RefOp):
            p, pp = self.pure(e.pointer, span)
            owners = [o for o in x.layout.objects if o.struct == e.struct]
            rconds: list[str | None] = [f"({p} == {o.address})" for o in owners]
            lvs = [x.loc_names[x.layout.refcount_location(o.index)] for o in owners]
            r = self.chain(rconds, [self.overlay.get(lv, lv) for lv in lvs])
            written, result = _ref(e.op, r, x.kill, m)
            if written is not None:
                self.write(rconds, lvs, written)
            return result, _or(pp, f"!{_or(*[c for c in rconds if c]) or '0'}")
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def pure_branches(self, c: str, then: Callable[[], tuple[str, str]],
                      other: Callable[[], tuple[str, str]]) -> tuple[str, str, str]:
        """Two branches on `c` (each gives a value and a poison), evaluated as `pure` does: the
        writes each makes count on its side of `c`. Returns both values and the poison."""
        before = dict(self.overlay)
        a, pa = then()
        after_then, self.overlay = self.overlay, dict(before)
        b, pb = other()
        after_other = self.overlay
        self.overlay = {k: (f"(({c} != 0) -> {after_then.get(k, before.get(k, k))} : {after_other.get(k, before.get(k, k))})")
                        for k in set(after_then) | set(after_other)}
        return a, b, (f"(({c} != 0) -> {pa or 0} : {pb or 0})" if pa or pb else "")

    def pure_stmts(self, stmts: tuple[ir.Stmt, ...]) -> str:
        """The poison of statements of an atomic block that come before a wait: the condition
        that one of them fails an access (then the step runs whatever the wait says: a failed
        access ends the step, docs/semantics.md "Failed accesses"). Their writes go to the
        overlay, as in `pure`."""
        poison = ""
        for st in stmts:
            if isinstance(st, (ir.Seq, ir.Atomic)):
                p = self.pure_stmts(st.body)
            elif isinstance(st, ir.AssignLocal):
                v, p = self.pure(st.value, st.span)
                self.overlay[self.t.local(st.var, self.ctx)] = v
            elif isinstance(st, ir.AssignShared):
                v, p = self.pure(st.value, st.span)
                conds, lvs, valid, pl = self.pure_location(st.loc, st.span)
                self.write(conds, lvs, v)
                p = _or(p, pl, f"!{valid}" if valid else "")
            elif isinstance(st, ir.Eval):
                p = self.pure(st.expr, st.span)[1]
            elif isinstance(st, (ir.Check, ir.Assume)):
                p = self.pure(st.cond, st.span)[1]
            elif isinstance(st, ir.If):
                c, pc = self.pure(st.cond, st.span)
                _, _, pb = self.pure_branches(c, lambda: ("", self.pure_stmts(st.then)), lambda: ("", self.pure_stmts(st.other)))
                p = _or(pc, pb)
            else:
                raise _unsupported(st.span, "a procedure call or return before a wait in its atomic block")
            poison = _or(poison, p)
        return poison

    def write(self, conds: list[str | None], lvs: list[str], value: str) -> None:
        """A write of the step (in a wait condition): later reads of the condition see it."""
        for c, lv in zip(conds, lvs):
            if c == "0":
                continue
            self.overlay[lv] = value if c is None else f"({c} -> {value} : {self.overlay.get(lv, lv)})"

    def merge(self, taken: str, saved: dict[str, str]) -> None:
        """Writes made under condition `taken` only."""
        self.overlay = {k: f"({taken} -> {v} : {saved.get(k, k)})" if saved.get(k) != v else v
                        for k, v in self.overlay.items()}

    def chain(self, conds: list[str | None], values: list[str]) -> str:
        pairs = [(c, v) for c, v in zip(conds, values) if c != "0"]
        for c, v in pairs:
            if c is None:
                return v
        out = "0"
        for c, v in reversed(pairs):
            out = f"({c} -> {v} : {out})"
        return out

    def pure_conds(self, obj: ir.ObjectRef | None, pointer: ir.Expr | None, struct: str,
                   span: Span) -> tuple[list[str | None], str | None, str]:
        if obj is not None:
            if obj.index is None:
                return [None], None, ""
            i, p = self.pure(obj.index, span)
            n = len(obj.candidates)
            return [f"({i} == {k})" for k in range(n)], f"({i} < {n})", p
        assert pointer is not None
        v, p = self.pure(pointer, span)
        conds = [f"({v} == {o.address})" for o in self.x.layout.objects if o.struct == struct]
        return list(conds), _or(*conds) or "0", p

    def pure_location(self, loc: ir.SharedLoc, span: Span) -> tuple[list[str | None], list[str], str | None, str]:
        names = self.x.loc_names
        if loc.name:
            ids = list(loc.candidates)
            if loc.index is None:
                return [None], [names[ids[0]]], None, ""
            i, p = self.pure(loc.index, span)
            return [f"({i} == {k})" for k in range(len(ids))], [names[x] for x in ids], f"({i} < {len(ids)})", p
        objs = self._all(loc.obj, loc.struct)
        conds, valid, p = self.pure_conds(loc.obj, loc.pointer, loc.struct, span)
        return conds, [names[self.x.layout.field_location(o, loc.field)] for o in objs], valid, p

    def wait_guard(self, e: ir.Expr, span: Span) -> str:
        self.overlay = {}
        return _or(*self.wait_parts(e, span))

    def lock_guard(self, loc: ir.SharedLoc, span: Span) -> str:
        self.overlay = {}
        return _or(*self.lock_parts(loc, span))

    def wait_parts(self, e: ir.Expr, span: Span) -> tuple[str, str]:
        """(poison, value) of a wait condition: the step can run when either holds."""
        value, poison = self.pure(e, span)
        return poison, f"({value} != 0)"

    def lock_parts(self, loc: ir.SharedLoc, span: Span) -> tuple[str, str]:
        conds, lvs, valid, poison = self.pure_location(loc, span)
        lock = self.chain(conds, lvs)
        self.write(conds, lvs, "1")
        return _or(poison, f"!{valid}" if valid else ""), f"({lock} == 0)"


def _writes_local(e: ir.Expr) -> bool:
    """Whether evaluating `e` may assign a local (only try_cmpxchg's `&old` does)."""
    if isinstance(e, ir.AtomicOp):
        return e.out is not None or any(_writes_local(a) for a in e.args) or _loc_writes_local(e.loc)
    if isinstance(e, ir.Unary):
        return _writes_local(e.operand)
    if isinstance(e, ir.Binary):
        return _writes_local(e.left) or _writes_local(e.right)
    if isinstance(e, ir.Ternary):
        return _writes_local(e.cond) or _writes_local(e.then) or _writes_local(e.other)
    if isinstance(e, ir.Read):
        return _loc_writes_local(e.loc)
    if isinstance(e, ir.RefOp):
        return _writes_local(e.pointer)
    if isinstance(e, ir.ConstField):
        return (e.pointer is not None and _writes_local(e.pointer)) or (e.obj is not None and e.obj.index is not None and _writes_local(e.obj.index))
    if isinstance(e, ir.AddressOf):
        return e.obj.index is not None and _writes_local(e.obj.index)
    return False


def _loc_writes_local(loc: ir.SharedLoc) -> bool:
    subs = [loc.index, loc.pointer, loc.obj.index if loc.obj else None]
    return any(s is not None and _writes_local(s) for s in subs)


def _wait_of(st: ir.Stmt) -> ir.Expr | ir.SharedLoc | None:
    """The wait condition of a statement of an atomic block: an await's, a spin_lock's lock."""
    if isinstance(st, ir.Await):
        return st.cond
    if isinstance(st, ir.Eval) and isinstance(st.expr, ir.AtomicOp) and st.expr.op == "spin_lock":
        return st.expr.loc
    return None


def _marker(n: ir.Nondet) -> str:
    """A nondet() in a guard that was not chosen before the step (atomic_guard)."""
    return f"__N{id(n)}_"


def _nondets(e: ir.Expr | ir.SharedLoc | ir.Stmt | None) -> list[ir.Nondet]:
    """The nondet() calls in an expression (or in a location's index and pointer), or in the
    expressions of a statement of an atomic block."""
    if e is None:
        return []
    if isinstance(e, (ir.Seq, ir.Atomic)):
        return [n for s in e.body for n in _nondets(s)]
    if isinstance(e, ir.If):
        return _nondets(e.cond) + [n for s in e.then + e.other for n in _nondets(s)]
    if isinstance(e, ir.AssignLocal):
        return _nondets(e.value)
    if isinstance(e, ir.AssignShared):
        return _nondets(e.value) + _nondets(e.loc)
    if isinstance(e, ir.Eval):
        return _nondets(e.expr)
    if isinstance(e, (ir.Check, ir.Assume, ir.Await)):
        return _nondets(e.cond)
    if isinstance(e, ir.Nondet):
        return [e]
    if isinstance(e, ir.SharedLoc):
        return _nondets(e.index) + _nondets(e.pointer) + _nondets(e.obj.index if e.obj else None)
    if isinstance(e, ir.Unary):
        return _nondets(e.operand)
    if isinstance(e, ir.Binary):
        return _nondets(e.left) + _nondets(e.right)
    if isinstance(e, ir.Ternary):
        return _nondets(e.cond) + _nondets(e.then) + _nondets(e.other)
    if isinstance(e, ir.Read):
        return _nondets(e.loc)
    if isinstance(e, ir.AtomicOp):
        return [n for a in e.args for n in _nondets(a)] + _nondets(e.loc)
    if isinstance(e, ir.RefOp):
        return _nondets(e.pointer)
    if isinstance(e, ir.ConstField):
        return _nondets(e.pointer) + _nondets(e.obj.index if e.obj else None)
    if isinstance(e, ir.AddressOf):
        return _nondets(e.obj.index)
    return []


class _Thread:
    """One thread: its control-flow graph (instructions), then nodes, then Promela text."""

    def __init__(self, x: _Exporter, thread: ir.Thread) -> None:
        self.x = x
        self.thread = thread
        self.instrs: list[_Instr] = []
        self.locals: dict[str, None] = {}
        self.instances = 0
        self.choices = 0
        self.prechosen: dict[int, str] = {}   # id(ir.Nondet) -> the local chosen before its step
        self.inits: dict[str, int] = {}       # locals that do not start at 0
        self.deferred: list[tuple[str, str]] | None = None  # in an atomic block with assume()
        self.recording: dict[str, None] | None = None       # locals named in that block
        self.has_wait = False
        self.finish = self.add(_Instr(x.leak_code(), None, kind="finish"))
        self.stop = self.add(_Instr([], None, kind="stop"))
        self.entry = self.seq(thread.body, self.finish, _Ctx(0))

    def add(self, instr: _Instr) -> int:
        self.instrs.append(instr)
        return len(self.instrs) - 1

    def local(self, var: ir.LocalVar, ctx: _Ctx) -> str:
        name = f"l_{_ident(var.name)}_{var.uid}" + (f"_{ctx.inst}" if ctx.inst else "")
        self.locals[name] = None
        if self.recording is not None:
            self.recording[name] = None
        if ctx.locals is not None and name not in ctx.locals:
            ctx.locals.append(name)
        return name

    def new_local(self, prefix: str, init: int = 0) -> str:
        name = f"{prefix}_{len(self.locals) + 1}"
        self.locals[name] = None
        if init:
            self.inits[name] = init
        return name

    def check(self, prop: str, cond: str | None) -> list[str]:
        """A check site; inside an atomic block with assume() it only counts if the block
        completes, so its outcome is kept in a flag and checked when the block commits."""
        if self.deferred is None:
            return self.x.check(prop, cond)
        self.x.sites.add(prop)
        flag = self.new_local("ok", init=1)
        self.deferred.append((prop, flag))
        return [f"{flag} = {'0' if cond is None else f'({cond} != 0)'};"]

    def current_address(self, span: Span) -> int:
        if self.thread.current is None:
            name = self.thread.name
            raise UserError(Diagnostic(span, f"'current' is used in thread {name}, which names no task: "
                                             f"declare it as 'thread {name} (current = &task)'"))
        return self.x.layout.objects[self.thread.current].address

    # ---- statements (continuation passing: each returns the entry of its code, given `k`)
    def seq(self, stmts: tuple[ir.Stmt, ...], k: int, ctx: _Ctx) -> int:
        for st in reversed(stmts):
            k = self.stmt(st, k, ctx)
        return k

    def unit(self, span: Span, ctx: _Ctx, build: Callable[[_Unit], object], k: int,
             guard: Callable[[_Unit], str] | None = None, assume: bool = False) -> int:
        """One unit: its code, then `k` (or a branch on the value `build` returns, if `k` < 0)."""
        u = _Unit(self, ctx)
        u.lines.append(self.x.comment(span))
        value = build(u)
        step = not ctx.in_atomic and (u.shared or guard is not None)
        g = guard(u) if guard is not None and not ctx.in_atomic else None
        if g is not None and not assume:
            self.has_wait = True
        nxt: _Goto | _Branch = _Goto(k)
        if isinstance(value, tuple):
            nxt = _Branch(*value)
        fail = (self.stop if ctx.fail is None else ctx.fail) if u.fails else None
        return self.add(_Instr(u.lines, nxt, boundary=step, guard=g, assume=assume and g is not None,
                               nondet=u.nondet, ntemps=u.ntemps, in_atomic=ctx.in_atomic, fail=fail))

    def choosing(self, exprs: list[ir.Expr | ir.SharedLoc | None], k: int, make: Callable[[int], int],
                 span: Span) -> int:
        """A step whose wait condition makes choices (`nondet()`): the thread can move when some
        choice makes the condition true, so the node's guard is the disjunction over every
        combination of values, and the step itself runs with one of the combinations that do
        (a wait on nondet() is not blocked while some choice succeeds)."""
        nondets = [n for e in exprs for n in _nondets(e)]
        if not nondets:
            return make(k)
        chosen: list[tuple[str, int]] = []
        for n in nondets:
            self.choices += 1
            name = f"c_{self.choices}"
            self.locals[name] = None
            self.prechosen[id(n)] = name
            chosen.append((name, self.x.mask if n.limit is None else min(n.limit - 1, self.x.mask)))
        combos = 1
        for _, hi in chosen:
            combos *= hi + 1
        if combos > MAX_CHOICES:
            raise _unsupported(span, f"a wait condition with {combos} combinations of nondet() values "
                                     f"(more than {MAX_CHOICES})")
        reset = self.add(_Instr([f"{name} = 0;" for name, _ in chosen], _Goto(k)))
        first = make(reset)
        entry = self.instrs[first]
        for n in nondets:
            del self.prechosen[id(n)]
        assert entry.boundary and entry.guard is not None
        options: list[tuple[str, list[str]]] = []
        for values in itertools.product(*[range(hi + 1) for _, hi in chosen]):
            guard = entry.guard
            for (name, _), v in zip(chosen, values):
                guard = re.sub(rf"\b{name}\b", str(v), guard)
            options.append((f"({guard})", [f"{name} = {v};" for (name, _), v in zip(chosen, values)]))
        entry.guard = "(" + " || ".join(g for g, _ in options) + ")"
        entry.code = ["if"] + [f":: {g} -> {' '.join(sets)}" for g, sets in options] + ["fi;"] + entry.code
        entry.nondet = True
        return first

    def stmt(self, st: ir.Stmt, k: int, ctx: _Ctx) -> int:
        if isinstance(st, ir.Seq):
            return self.seq(st.body, k, ctx)
        if isinstance(st, ir.AssignLocal):
            return self.unit(st.span, ctx, lambda u: u.lines.append(f"{self.local(st.var, ctx)} = {u.ev(st.value)};"), k)
        if isinstance(st, ir.AssignShared):
            def assign(u: _Unit) -> None:
                loc = st.loc
                v = u.freeze(u.ev(st.value), loc.index or loc.pointer or (loc.obj.index if loc.obj else None))
                acc = u.location(loc)
                u.shared = True
                u.access(acc, lambda lv: [f"{lv} = {v};"])
            return self.unit(st.span, ctx, assign, k)
        if isinstance(st, ir.Eval):
            if isinstance(st.expr, ir.AtomicOp) and st.expr.op == "spin_lock":
                loc = st.expr.loc

                def lock(k2: int) -> int:
                    return self.unit(st.span, ctx, lambda u: u.ev(st.expr) and None, k2,
                                     guard=lambda u: u.lock_guard(loc, st.span))
                return lock(k) if ctx.in_atomic else self.choosing([loc], k, lock, st.span)
            return self.unit(st.span, ctx, lambda u: u.ev(st.expr) and None, k)
        if isinstance(st, ir.Check):
            name = ir.property_name(st.kind, st.label, st.span)
            return self.unit(st.span, ctx, lambda u: u.lines.extend(self.check(name, f"({u.ev(st.cond)} != 0)")), k)
        if isinstance(st, ir.Await):
            def wait(k2: int) -> int:
                return self.unit(st.span, ctx, lambda u: u.ev(st.cond) and None, k2,
                                 guard=lambda u: u.wait_guard(st.cond, st.span))
            return wait(k) if ctx.in_atomic else self.choosing([st.cond], k, wait, st.span)
        if isinstance(st, ir.Assume):
            return self.assume(st, k, ctx)
        if isinstance(st, ir.If):
            then = self.seq(st.then, k, ctx)
            other = self.seq(st.other, k, ctx)
            span = getattr(st.cond, "span", st.span)
            return self.unit(span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", then, other), -1)
        if isinstance(st, ir.Loop):
            return self.loop(st, k, ctx)
        if isinstance(st, ir.Break):
            assert ctx.brk is not None
            return ctx.brk
        if isinstance(st, ir.Continue):
            assert ctx.cont is not None
            return ctx.cont
        if isinstance(st, ir.Return):
            if ctx.exit is None:
                return self.finish
            if st.value is None:
                return ctx.exit
            ret, value = ctx.ret, st.value
            return self.unit(st.span, ctx, lambda u: u.lines.append(f"{ret} = {u.ev(value)};") if ret else u.ev(value) and None,
                             ctx.exit)
        if isinstance(st, ir.CallProc):
            return self.call(st, k, ctx)
        if isinstance(st, ir.Atomic):
            return self.atomic(st, k, ctx)
        raise AssertionError(f"unhandled statement {type(st).__name__}")

    def assume(self, st: ir.Assume, k: int, ctx: _Ctx) -> int:
        if ctx.in_atomic:
            # the block can only run if the assume holds: if not, undo it (a self-loop)
            assert ctx.rollback is not None
            undo = ctx.rollback
            return self.unit(st.span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", k, undo), -1)
        probe = _Unit(self, ctx)
        probe.ev(st.cond)
        if not probe.shared:
            # a local unit: a false assume stops the thread for good
            return self.unit(st.span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", k, self.stop), -1)
        # a step: it can only run when the condition holds; until then the thread waits there,
        # without being blocked (docs/semantics.md, "Properties": neither finished nor blocked)
        return self.choosing([st.cond], k, lambda k2: self.unit(st.span, ctx, lambda u: u.ev(st.cond) and None, k2,
                                                                guard=lambda u: u.wait_guard(st.cond, st.span),
                                                                assume=True), st.span)

    def loop(self, st: ir.Loop, k: int, ctx: _Ctx) -> int:
        if ctx.in_atomic:
            raise UserError(Diagnostic(st.span, "a loop inside an atomic block (here reached through a procedure call): "
                                                "an atomic step must be straight-line code"))
        head = self.add(_Instr([], None))
        step = self.seq(st.step, head, ctx)
        body = self.seq(st.body, step, replace(ctx, brk=k, cont=step))
        span = getattr(st.cond, "span", st.span)
        cond = self.unit(span, ctx, lambda u: (f"({u.ev(st.cond)} != 0)", body, k), -1)
        self.instrs[head] = self.instrs[cond]
        self.instrs[cond] = _Instr([], _Goto(head))
        return head if st.cond_first else body

    def call(self, st: ir.CallProc, k: int, ctx: _Ctx) -> int:
        proc = self.x.prog.proc(st.proc)
        self.instances += 1
        inner_locals: list[str] = []
        inner = _Ctx(self.instances, exit=None, ret=self.local(st.result, ctx) if st.result else None,
                     in_atomic=ctx.in_atomic, locals=inner_locals, rollback=ctx.rollback)
        exit_ = self.add(_Instr([], _Goto(k)))
        fall = self.add(_Instr([f"{inner.ret} = 0;"] if inner.ret else [], _Goto(exit_)))
        inner = replace(inner, exit=exit_)
        body = self.seq(proc.body, fall, inner)
        params = [self.local(p, inner) for p in proc.params]
        self.instrs[exit_].code = [f"{name} = 0;" for name in inner_locals]
        if not st.args:
            return body

        # docs/semantics.md, "Units": each argument of a call is its own unit, left to right,
        # evaluated straight into the parameter (the caller's locals are other names)
        nxt = body
        for param, arg in reversed(list(zip(params, st.args))):
            def assign(u: _Unit, param: str = param, arg: ir.Expr = arg) -> None:
                u.lines.append(f"{param} = {u.ev(arg)};")
            nxt = self.unit(getattr(arg, "span", st.span), ctx, assign, nxt)
        return nxt

    def atomic(self, st: ir.Atomic, k: int, ctx: _Ctx) -> int:
        if ctx.in_atomic:
            return self.seq(st.body, k, ctx)
        inner = replace(ctx, in_atomic=True)
        flat = ir.flatten(st.body)
        waits: list[ir.Expr | ir.SharedLoc | None] = [w for w in map(_wait_of, flat) if w is not None]
        # the nondet() of a statement before a wait, where it decides whether the statement
        # fails an access (then the step runs whatever the wait says), is chosen with the waits'
        guard, _ = self.atomic_guard(st, ctx)
        waits += [n for s in flat if _wait_of(s) is None for n in _nondets(s) if _marker(n) in (guard or "")]

        facts = _Facts(self.x)
        for s in st.body:
            facts.stmt(s)

        def make(k2: int) -> int:
            if not facts.assumes:
                body = self.seq(st.body, k2, inner)
                guard, step = self.atomic_guard(st, ctx)
                if guard is not None:
                    self.has_wait = True
                return self.add(_Instr([self.x.comment(st.span)], _Goto(body), boundary=step, guard=guard))
            # assume() inside: save what the block may write, defer its checks to the commit,
            # and on a false assume restore everything (the thread stays before the block); a
            # failed access commits what the block did so far, and the thread stops
            undo = self.add(_Instr([], None, kind="rollback"))
            commit = self.add(_Instr([], _Goto(k2)))
            failing = self.add(_Instr([], None, kind="stop"))
            self.deferred, self.recording = [], {}
            body = self.seq(st.body, commit, replace(inner, rollback=undo, fail=failing))
            guard, _ = self.atomic_guard(st, ctx)
            deferred, recorded = self.deferred, list(self.recording)
            self.deferred = self.recording = None
            if guard is not None:
                self.has_wait = True
            saved = [self.x.loc_names[i] for i in sorted(facts.written_locs)] + recorded
            copies = [self.new_local("saved") for _ in saved]
            clean = [f"{c} = 0;" for c in copies] + [f"{flag} = 1;" for _, flag in deferred]
            self.instrs[undo].code = [f"{v} = {c};" for v, c in zip(saved, copies)] + clean
            self.instrs[commit].code = [line for prop, flag in deferred for line in self.x.check(prop, f"({flag} != 0)")] + clean
            self.instrs[failing].code = list(self.instrs[commit].code)
            entry = [self.x.comment(st.span)] + [f"{c} = {v};" for v, c in zip(saved, copies)]
            return self.add(_Instr(entry, _Goto(body), boundary=True, guard=guard))
        return self.choosing(waits, k, make, st.span)

    def atomic_guard(self, st: ir.Atomic, ctx: _Ctx) -> tuple[str | None, bool]:
        """The wait condition of an atomic block, evaluated before it runs, and whether the block
        is a step. Waits must be at the top of the block and independent of what precedes them.
        The block runs when its statements, in order up to its last wait, reach a failed access
        (docs/semantics.md, "Failed accesses") before a wait that is false: `p1 || (w1 && (p2 ||
        ...))`. A nondet() not chosen before the step stands in it as its `_marker`."""
        parts: list[tuple[str, str | None]] = []   # per statement: (poison, wait condition)
        written_locals: set[int] = set()
        written_locs: set[int] = set()
        probe = _Unit(self, ctx)
        step = False
        flat = ir.flatten(st.body)
        last = max((i for i, s in enumerate(flat) if _wait_of(s) is not None), default=-1)
        unchosen = [n for s in flat[:last + 1] for n in _nondets(s) if id(n) not in self.prechosen]
        self.prechosen.update((id(n), _marker(n)) for n in unchosen)
        try:
            for i, s in enumerate(flat):
                facts = _Facts(self.x)
                facts.stmt(s)
                step = step or facts.shared or facts.waits
                wait = _wait_of(s)
                if wait is None and facts.waits:
                    raise _unsupported(facts.wait_span or st.span, "a wait inside a branch or a called procedure of an atomic block")
                if wait is not None:
                    reads = _Facts(self.x)
                    if isinstance(wait, ir.SharedLoc):
                        reads.loc(wait, read=True)
                    else:
                        reads.expr(wait)
                    if reads.read_locals & written_locals or reads.read_locs & written_locs:
                        raise _unsupported(s.span, "a wait that depends on an earlier statement of its atomic block")
                    parts.append(probe.lock_parts(wait, s.span) if isinstance(wait, ir.SharedLoc)
                                 else probe.wait_parts(wait, s.span))
                elif i < last:
                    parts.append((probe.pure_stmts((s,)), None))
                written_locals |= facts.written_locals
                written_locs |= facts.written_locs
        finally:
            for n in unchosen:
                del self.prechosen[id(n)]
        guard = ""
        for poison, wait in reversed(parts):
            rest = guard if wait is None else f"({wait} && {guard})" if guard else wait
            guard = _or(poison, rest) if rest else poison
        return guard or None, step

    # ---- nodes and text
    def nodes(self) -> list[int]:
        """Node starts: the entry, every step, and enough loop heads that no node loops."""
        starts = [self.entry]
        seen = {self.entry}
        order = [self.entry]
        while order:
            i = order.pop()
            for j in self.successors(i):
                if j not in seen:
                    seen.add(j)
                    order.append(j)
                    if self.instrs[j].boundary:
                        starts.append(j)
        start_set = set(starts)
        changed = True
        while changed:
            changed = False
            for s in list(starts):
                back = self.back_edge(s, start_set)
                if back is not None:
                    assert not self.instrs[back].in_atomic
                    starts.append(back)
                    start_set.add(back)
                    changed = True
                    break
        return starts

    def successors(self, i: int) -> list[int]:
        ins = self.instrs[i]
        nxt = ins.nxt
        out = [nxt.target] if isinstance(nxt, _Goto) else [nxt.then, nxt.other] if isinstance(nxt, _Branch) else []
        return out + ([ins.fail] if ins.fail is not None else [])

    def back_edge(self, start: int, starts: set[int]) -> int | None:
        """An instruction that the tail of `start` reaches twice (a loop without a step)."""
        on_path: set[int] = set()
        done: set[int] = set()
        stack: list[tuple[int, int]] = [(start, 0)]
        on_path.add(start)
        while stack:
            i, n = stack[-1]
            succ = self.successors(i)
            if n == len(succ):
                stack.pop()
                on_path.discard(i)
                done.add(i)
                continue
            stack[-1] = (i, n + 1)
            j = succ[n]
            if j in starts or j in done:
                continue
            if j in on_path:
                return j
            on_path.add(j)
            stack.append((j, 0))
        return None

    def emit(self) -> list[str]:
        x = self.x
        starts = self.nodes()
        node_of = {s: n for n, s in enumerate(starts)}
        end, stop = len(starts), len(starts) + 1
        name = "T_" + _ident(self.thread.name)
        options: list[str] = []
        local_temps = 0
        stops = False
        for n, s in enumerate(starts):
            body, nondet, ntemps, uses_stop = self.emit_node(n, s, node_of, end, stop)
            stops = stops or uses_stop
            first = self.instrs[s]
            cond = f"pc == {n}" + (f" && {first.guard}" if first.guard else "")
            if nondet:
                local_temps = max(local_temps, ntemps)
                body = [_TEMP.sub(r"t_\1", line) for line in body] + [f"t_{i} = 0;" for i in range(ntemps)]
                kw = "atomic"
            else:
                x.hidden_temps = max(x.hidden_temps, ntemps)
                body = [_TEMP.sub(r"T\1", line) for line in body]
                kw = "d_step"
            options.append(f"  :: {kw} {{ {cond} ->")
            options += ["       " + line if not line.startswith("#") else line for line in body]
            options.append("     }")
            if first.assume and first.guard:
                options.append(f"  :: pc == {n} && !({first.guard}) -> skip  /* waits on an assume(): not blocked */")
        if stops:
            options.append(f"  :: pc == {stop} -> skip  /* stopped by a false assume() or a failed access: not blocked */")
        options.append(f"  :: pc == {end} -> break")
        pc_type = "byte" if stop < 256 else "short"
        out = [f"/* thread {self.thread.name}" + (f" (current = &{x.layout.objects[self.thread.current].name})"
                                                 if self.thread.current is not None else "") + " */",
               f"active proctype {name}() {{",
               f"  {pc_type} pc = 0;  /* the node to run next; {end}: finished */"]
        for local in self.locals:
            out.append(f"  int {local} = {self.inits.get(local, 0)};")
        for i in range(local_temps):
            out.append(f"  int t_{i} = 0;")
        if "deadlock" in x.keep:
            out += [x.guard_line("deadlock"), "  do", "#else", "end_run:", "  do", "#endif"]
        else:
            out += ["end_run:", "  do"]
        out += options
        out += ["  od", "}"]
        return out

    def emit_node(self, n: int, start: int, node_of: dict[int, int], end: int,
                  stop: int) -> tuple[list[str], bool, int, bool]:
        """The statements of node n, its instructions laid out with labels and gotos."""
        order: list[int] = []
        placed: set[int] = set()
        pending = [start]
        while pending:
            i = pending.pop()
            while i not in placed:
                placed.add(i)
                order.append(i)
                succ = [j for j in self.successors(i) if j not in node_of and j not in placed]
                if not succ:
                    break
                pending += reversed(succ[1:])
                i = succ[0]
        position = {i: p for p, i in enumerate(order)}
        label_end = f"N{n}_end"
        targets: set[int] = set()
        nondet = any(self.instrs[i].nondet for i in order)
        ntemps = max(self.instrs[i].ntemps for i in order)
        uses_stop = False

        def jump(j: int, here: int) -> str:
            if j in node_of:
                return f"pc = {node_of[j]}; goto {label_end}"
            if position[j] == position[here] + 1:
                return "skip"
            targets.add(j)
            return f"goto N{n}_{j}"

        body: list[list[str]] = []
        for i in order:
            ins = self.instrs[i]
            lines = list(ins.code)
            if ins.fail is not None:
                targets.add(ins.fail)
                lines = [line.replace(FAIL, f"goto N{n}_{ins.fail};") for line in lines]
            if ins.kind == "finish":
                lines += [f"pc = {end};", f"goto {label_end};"]
            elif ins.kind == "stop":
                uses_stop = True
                lines += [f"pc = {stop};", f"goto {label_end};"]
            elif ins.kind == "rollback":
                lines += [f"goto {label_end};  /* pc stays {n}: the block did not run */"]
            elif isinstance(ins.nxt, _Goto):
                j = jump(ins.nxt.target, i)
                if j != "skip":
                    lines.append(j + ";")
            elif isinstance(ins.nxt, _Branch):
                lines += ["if", f":: {ins.nxt.cond} -> {jump(ins.nxt.then, i)};",
                          f":: else -> {jump(ins.nxt.other, i)};", "fi;"]
            body.append(lines)
        out: list[str] = []
        for i, lines in zip(order, body):
            if i in targets:
                out += [f"N{n}_{i}:", "skip;"]
            out += lines
        out += [f"{label_end}:", "skip;"]
        return out, nondet, ntemps, uses_stop


@dataclass
class _Facts:
    """What a statement of an atomic block does, for the block's wait condition."""

    x: _Exporter
    shared: bool = False
    waits: bool = False
    wait_span: Span | None = None
    assumes: list[Span] = field(default_factory=list)
    written_locals: set[int] = field(default_factory=set)
    written_locs: set[int] = field(default_factory=set)
    read_locals: set[int] = field(default_factory=set)
    read_locs: set[int] = field(default_factory=set)
    seen_procs: set[str] = field(default_factory=set)

    def cands(self, loc: ir.SharedLoc) -> set[int]:
        layout = self.x.layout
        if loc.name:
            return set(loc.candidates)
        objs = loc.obj.candidates if loc.obj else [o.index for o in layout.objects if o.struct == loc.struct]
        return {layout.field_location(o, loc.field) for o in objs}

    def loc(self, loc: ir.SharedLoc, read: bool = False, write: bool = False) -> None:
        self.shared = True
        for sub in (loc.index, loc.pointer, loc.obj.index if loc.obj else None):
            if sub is not None:
                self.expr(sub)
        if read:
            self.read_locs |= self.cands(loc)
        if write:
            self.written_locs |= self.cands(loc)

    def expr(self, e: ir.Expr | None) -> None:
        if e is None:
            return
        if isinstance(e, ir.Local):
            self.read_locals.add(e.var.uid)
        elif isinstance(e, ir.Unary):
            self.expr(e.operand)
        elif isinstance(e, ir.Binary):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ir.Ternary):
            self.expr(e.cond)
            self.expr(e.then)
            self.expr(e.other)
        elif isinstance(e, ir.AddressOf):
            self.expr(e.obj.index)
        elif isinstance(e, ir.ConstField):
            self.expr(e.pointer)
            if e.obj is not None:
                self.expr(e.obj.index)
        elif isinstance(e, ir.Read):
            self.loc(e.loc, read=True)
        elif isinstance(e, ir.AtomicOp):
            for a in e.args:
                self.expr(a)
            self.loc(e.loc, read=True, write=True)
            if e.out is not None:
                self.written_locals.add(e.out.uid)
            if e.op == "spin_lock":
                self.waits = True
                self.wait_span = self.wait_span or e.span
        elif isinstance(e, ir.RefOp):
            self.shared = True
            self.expr(e.pointer)
            layout = self.x.layout
            rcs = {layout.refcount_location(o.index) for o in layout.objects if o.struct == e.struct}
            self.read_locs |= rcs
            if e.op != "refcount":
                self.written_locs |= rcs

    def stmt(self, st: ir.Stmt) -> None:
        if isinstance(st, (ir.Seq, ir.Atomic)):
            for s in st.body:
                self.stmt(s)
        elif isinstance(st, ir.AssignLocal):
            self.expr(st.value)
            self.written_locals.add(st.var.uid)
        elif isinstance(st, ir.AssignShared):
            self.expr(st.value)
            self.loc(st.loc, write=True)
        elif isinstance(st, ir.Eval):
            self.expr(st.expr)
        elif isinstance(st, ir.Check):
            self.expr(st.cond)
        elif isinstance(st, ir.Assume):
            self.expr(st.cond)
            self.assumes.append(st.span)
        elif isinstance(st, ir.Await):
            self.expr(st.cond)
            self.waits = True
            self.wait_span = self.wait_span or st.span
        elif isinstance(st, ir.If):
            self.expr(st.cond)
            for s in st.then + st.other:
                self.stmt(s)
        elif isinstance(st, ir.Loop):
            self.expr(st.cond)
            for s in st.body + st.step:
                self.stmt(s)
        elif isinstance(st, ir.Return):
            self.expr(st.value)
        elif isinstance(st, ir.CallProc):
            for a in st.args:
                self.expr(a)
            if st.result is not None:
                self.written_locals.add(st.result.uid)
            if st.proc not in self.seen_procs:
                self.seen_procs.add(st.proc)
                for s in self.x.prog.proc(st.proc).body:
                    self.stmt(s)


def to_promela(program: ir.Program, properties: tuple[str, ...] = (), sources: SourceCache | None = None) -> PromelaModel:
    """The Promela model of a resolved program, keeping the checks of `properties` (names or
    kinds; empty: all). Raises UserError for what the export cannot represent."""
    return _Exporter(program, properties, sources).run()


def export_path(path: str, sources: SourceCache, defines: tuple[tuple[str, int], ...] = (), bound: int | None = None,
                properties: tuple[str, ...] = ()) -> PromelaModel:
    """Parse, resolve and export one model file (UserError: the same diagnostics as the prover)."""
    program = resolve(load_model(path, sources), dict(defines), bound)
    return to_promela(program, properties, sources)
