"""One unit (statement) of a thread as Promela code: expressions are compiled to statements
that leave their value in a temporary, a local or a literal; shared accesses (plain, atomic
builtins, refcount builtins) happen in order, on the location a pointer or an index selects
among its candidates; an access to no valid location is a failed access (docs/semantics.md,
"Failed accesses"). The unit's wait condition, evaluated before the step, is waits.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...lang import ir
from .cfg import FAIL, Ctx
from .facts import writes_local
from .formulas import atomic_builtin, binary_op, conjunction, disjunction, refcount_builtin
from .variables import ThreadVariables


@dataclass
class _Acc:
    """A shared location as candidates: (condition or None, global); `valid` None = always."""

    cands: list[tuple[str | None, str]]
    valid: str | None
    msg: str


class Unit:
    """The Promela code of one unit (statement): expressions are compiled to statements that
    leave their value in a temporary, local or literal; shared accesses happen in order."""

    def __init__(self, variables: ThreadVariables, ctx: Ctx) -> None:
        self.vars = variables
        self.x = variables.x
        self.ctx = ctx
        self.lines: list[str] = []
        self.ntemps = 0
        self.shared = False
        self.nondet = False
        self.fails = False                  # the unit has a failed access (`failed`)

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
        self.lines += self.vars.check("uaf", cond)

    def freeze(self, value: str, later: ir.Expr | None) -> str:
        """Keep `value` in a temporary if `later` (evaluated next) may change a local it names."""
        if later is None or not writes_local(later) or value.isdigit() or value.startswith("__T"):
            return value
        t = self.temp()
        self.lines.append(f"{t} = {value};")
        return t

    def option(self, cond: str, body: list[str]) -> list[str]:
        return [f":: {cond} -> skip;"] + ["   " + line for line in body]

    # ---- expressions
    def ev(self, e: ir.Expr) -> str:
        m = self.x.mask
        if isinstance(e, ir.Const):
            return str(e.value & m)
        if isinstance(e, ir.Local):
            return self.vars.local(e.var, self.ctx)
        if isinstance(e, ir.Current):
            return str(self.vars.current_address(e.span))
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
            return self.choose(e.obj, None, "", [objs[i].address for i in self.objects(e.obj, "")],
                               "object array index out of bounds")
        if isinstance(e, ir.ConstField):
            objs = self.x.layout.objects
            cands = self.objects(e.obj, e.struct)
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
        if isinstance(e, ir.IndexFault):
            self.lines += self.failed()
            return "0"
        if isinstance(e, ir.WordAddress):   # the word is named, not accessed
            acc = self.location(e.loc)
            t = self.temp()
            self.access(acc, lambda lv: [f"{t} = {self.word_address(lv)};"])
            return t
        if isinstance(e, ir.Nondet):
            chosen = self.vars.prechosen.get(id(e))
            if chosen is not None:
                return chosen
            t = self.temp()
            hi = m if e.limit is None else min(e.limit - 1, m)
            self.lines += self.arbitrary(t, hi)
            return t
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def binary(self, op: str, a: str, b: str) -> str:
        m = self.x.mask
        if op not in ("/", "%"):
            return binary_op(op, a, b, self.x.width, m)
        if op == "/":
            self.uaf(f"({b} != 0)")
            return f"(({b} == 0) -> {m} : ({a} / {b}))"
        if op == "%":
            self.uaf(f"({b} != 0)")
            return f"(({b} == 0) -> {a} : ({a} % {b}))"
        raise AssertionError(op)

    def objects(self, obj: ir.ObjectRef | None, struct: str) -> list[int]:
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
        return [f"({p} == {o.address})" for o in cands], disjunction(*[f"({p} == {o.address})" for o in cands]) or "0"

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
        if loc.deref:   # `*pp` (NOTE(word-addresses) in lang/ir.py)
            assert loc.pointer is not None
            p = self.ev(loc.pointer)
            words = self.x.layout.pointer_words(loc.struct)
            conds = [f"({p} == {self.x.layout.word_address(w)})" for w in words]
            return _Acc([(c, names[w]) for c, w in zip(conds, words)], disjunction(*conds) or "0",
                        f"NULL or invalid pointer dereferenced ('*' of a struct {loc.struct} **)")
        objs = self.objects(loc.obj, loc.struct)
        conds, valid = self._conds(loc.obj, loc.pointer, loc.struct)
        msg = f"NULL or invalid pointer dereferenced ('->{loc.field}')"
        if loc.index is not None:   # an array field's element, a run-time index: after the object
            i = self.ev(loc.index)
            per_object = [self.x.layout.element_locations(o, loc.struct, loc.field) for o in objs]
            size = len(per_object[0])
            cands = [(conjunction(c, f"({i} == {k})"), names[x])
                     for c, ids in zip(conds, per_object) if c != "0" for k, x in enumerate(ids)]
            return _Acc(cands, conjunction(valid, f"({i} < {size})"), msg)
        lvs = [names[self.x.layout.field_location(o, loc.field)] for o in objs]
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

    def word_address(self, global_name: str) -> int:
        """The address of the shared word whose Promela global is `global_name`."""
        return self.x.layout.word_address(self.x.loc_names.index(global_name))

    def failed(self) -> list[str]:
        """A failed access (docs/semantics.md, "Failed accesses"): a uaf, and the thread stops
        right there, keeping what its step did so far (`FAIL`: Proctype.node makes it a
        jump to the unit's `fail` instruction)."""
        self.fails = True
        return self.vars.check("uaf", None) + [FAIL]

    def atomic_op(self, e: ir.AtomicOp) -> str:
        m, w = self.x.mask, self.x.width
        args: list[str] = []
        for i, a in enumerate(e.args):
            later = e.args[i + 1] if i + 1 < len(e.args) else (e.loc.index or e.loc.pointer or (e.loc.obj.index if e.loc.obj else None))
            args.append(self.freeze(self.ev(a), later))
        acc = self.location(e.loc)
        self.shared = True
        op = e.kind
        if op == "spin_unlock":
            self.access(acc, lambda lv: [f"{lv} = 0;"])
            return "0"
        r = self.temp()
        new, result = atomic_builtin(op, r, args, w, m)
        self.access(acc, lambda lv: [f"{r} = {lv};", f"{lv} = {new};"])
        if result not in ("0", r):
            t = self.temp()
            self.lines.append(f"{t} = {result};")
            result = t
        if op == "try_cmpxchg" and e.out is not None:
            # after the result: `&old` is also the expected value args[0] names
            out = self.vars.local(e.out, self.ctx)
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
            acc = _Acc(list(zip(conds, rcs)), disjunction(*conds) or "0", "")
        self.shared = True
        r = self.temp()
        res = self.temp() if e.op in ("tryget", "tryget_live", "refcount") else "0"
        alive = f"(({r} & {cm}) != 0)"
        written, result = refcount_builtin(e.op, r, kill, m)

        def valid(lv: str) -> list[str]:
            out = [f"{r} = {lv};"]
            if e.op in ("get", "put"):
                out += self.vars.check("uaf", alive)
            elif e.op == "kill":
                out += self.vars.check("uaf", f"(({r} & {kill}) == 0)") + self.vars.check("uaf", alive)
            if res != "0":
                out.append(f"{res} = {result};")
            if written is not None:
                out.append(f"{lv} = {written};")
            return out

        self.access(acc, valid)
        return res

