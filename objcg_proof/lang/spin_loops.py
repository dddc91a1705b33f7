"""Spin loops: which loops only read until a condition holds (docs/semantics.md, "Spin loops").

Input: an `ir.Loop` as the resolver builds it. Output: `why_not_spin(loop)`, None when the loop
is a spin loop, or the reason it is not, in a few words. Every engine reduces a spin loop to
one iteration (an iteration that would go round again stops the thread; a thread waits forever
at the loop when, in a state where no other thread can move, one iteration goes round again):
the rule is decided here, once, and stored in `ir.Loop.spin`.

The rule is syntactic and conservative: a loop that is not recognised keeps the ordinary bound
rule ("The bound"), so a wrong "no" costs a `bounded` verdict, never a wrong `proved`.
"""

from __future__ import annotations

from . import ir

# the expressions an iteration may evaluate: reads of shared memory, locals, constants and
# operators; anything else (an atomic builtin, a refcount builtin, nondet(), and any kind added
# later) makes the loop an ordinary one
_PURE_EXPRS = (ir.Const, ir.Local, ir.Current, ir.Unary, ir.Binary, ir.Ternary, ir.AddressOf, ir.ConstField, ir.Read)


def why_not_spin(loop: ir.Loop) -> str | None:
    """None if `loop` is a spin loop; else why not (docs/semantics.md, "Spin loops")."""
    if loop.step:
        return "a for loop with a step carries state from one iteration to the next"
    iteration: list[ir.Stmt] = []
    const_true = isinstance(loop.cond, ir.Const) and loop.cond.value != 0
    if loop.cond_first and not const_true:
        iteration.append(ir.Eval(loop.cond, loop.span))
    iteration.extend(loop.body)
    if not loop.cond_first:
        iteration.append(ir.Eval(loop.cond, loop.span))
    first = _first_unit(iteration)
    if first is None or not _must_read(first):
        return "its iteration does not start by reading shared memory"
    reason = _expr_reason(loop.cond) or _stmts_reason(loop.body)
    if reason:
        return reason
    written = _written(loop.body)
    if not written:
        return None
    # every local the loop writes is assigned in an iteration before the iteration reads it
    assigned: set[int] = set()
    if loop.cond_first and _reads_of(loop.cond) & written:
        return "its condition reads a local the loop writes"
    ok, at_end, at_conts = _definite(loop.body, assigned, written)
    if not ok:
        return "it reads a local that an earlier iteration wrote"
    if not loop.cond_first:
        end = at_end
        for d in at_conts:
            end = end & d
        if _reads_of(loop.cond) - end & written:
            return "its condition reads a local that an earlier iteration wrote"
    return None


def wait_like_reason(loop: ir.Loop) -> str | None:
    """For a loop that looks like a wait (it reads shared memory and uses no builtin with an
    effect, no check, call or nested loop) but is not a spin loop: why not, for the words of a
    `bounded` verdict. None for a spin loop and for a loop that does not look like a wait."""
    reason = why_not_spin(loop)
    if reason is None or (reason.startswith(("it evaluates", "it contains")) and "shared memory" not in reason):
        return None
    stmts: tuple[ir.Stmt, ...] = (ir.Eval(loop.cond, loop.span),) + loop.body + loop.step
    if _stmts_reason(tuple(st for st in _flat(stmts) if not isinstance(st, ir.AssignShared))) is not None:
        return None   # something else in it is no wait either
    if not any(_reads_shared(e) for e in _exprs(stmts)):
        return None
    return reason


def _flat(stmts: tuple[ir.Stmt, ...]) -> list[ir.Stmt]:
    out: list[ir.Stmt] = []
    for st in stmts:
        if isinstance(st, ir.Seq):
            out += _flat(st.body)
        elif isinstance(st, ir.If):
            out += [ir.Eval(st.cond, st.span)] + _flat(st.then) + _flat(st.other)
        else:
            out.append(st)
    return out


def _exprs(stmts: tuple[ir.Stmt, ...]) -> list[ir.Expr]:
    out: list[ir.Expr] = []
    for st in _flat(stmts):
        if isinstance(st, (ir.AssignLocal, ir.AssignShared)):
            out.append(st.value)
        elif isinstance(st, ir.Eval):
            out.append(st.expr)
    return out


def _reads_shared(e: ir.Expr) -> bool:
    work: list[object] = [e]
    while work:
        x = work.pop()
        if isinstance(x, ir.Read):
            return True
        work.extend(_sub_exprs(x))
    return False


def _first_unit(stmts: list[ir.Stmt]) -> ir.Expr | None:
    """The expression of the iteration's first unit, or None if it is not an expression unit."""
    for st in stmts:
        if isinstance(st, ir.Seq):
            if not st.body:
                continue
            return _first_unit(list(st.body))
        if isinstance(st, ir.AssignLocal):
            return st.value
        if isinstance(st, ir.Eval):
            return st.expr
        if isinstance(st, ir.If):
            return st.cond
        return None
    return None


def _must_read(e: ir.Expr) -> bool:
    """Evaluating `e` always reads shared memory (or fails trying): its unit is a step."""
    if isinstance(e, ir.Read):
        return True
    if isinstance(e, ir.Unary):
        return _must_read(e.operand)
    if isinstance(e, ir.Binary):
        return _must_read(e.left) or (e.op not in ("&&", "||") and _must_read(e.right))
    if isinstance(e, ir.Ternary):
        return _must_read(e.cond)
    return False


def _sub_exprs(e: object) -> list[ir.Expr]:
    if isinstance(e, ir.Unary):
        return [e.operand]
    if isinstance(e, ir.Binary):
        return [e.left, e.right]
    if isinstance(e, ir.Ternary):
        return [e.cond, e.then, e.other]
    if isinstance(e, ir.AddressOf):
        return _sub_exprs(e.obj)
    if isinstance(e, ir.ObjectRef):
        return [e.index] if e.index is not None else []
    if isinstance(e, ir.ConstField):
        return ([e.pointer] if e.pointer is not None else []) + (_sub_exprs(e.obj) if e.obj is not None else [])
    if isinstance(e, ir.Read):
        return _sub_exprs(e.loc)
    if isinstance(e, ir.SharedLoc):
        out = [x for x in (e.index, e.pointer) if x is not None]
        return out + (_sub_exprs(e.obj) if e.obj is not None else [])
    return []


def _expr_reason(e: ir.Expr) -> str | None:
    work = [e]
    while work:
        x = work.pop()
        if not isinstance(x, _PURE_EXPRS):
            return f"it evaluates {_what(x)}"
        work.extend(_sub_exprs(x))
    return None


def _what(e: object) -> str:
    if isinstance(e, ir.AtomicOp):
        return f"the atomic builtin {e.op}"
    if isinstance(e, ir.RefOp):
        return f"the refcount builtin {e.op}"
    if isinstance(e, ir.Nondet):
        return "nondet()"
    return f"a {type(e).__name__} expression"


def _stmts_reason(stmts: tuple[ir.Stmt, ...]) -> str | None:
    for st in stmts:
        if isinstance(st, ir.Seq):
            reason = _stmts_reason(st.body)
        elif isinstance(st, ir.AssignLocal):
            reason = _expr_reason(st.value)
        elif isinstance(st, ir.Eval):
            reason = _expr_reason(st.expr)
        elif isinstance(st, ir.If):
            reason = _expr_reason(st.cond) or _stmts_reason(st.then) or _stmts_reason(st.other)
        elif isinstance(st, (ir.Break, ir.Continue)):
            reason = None
        else:
            reason = f"it contains {_stmt_words(st)}"
        if reason:
            return reason
    return None


def _stmt_words(st: ir.Stmt) -> str:
    words = {ir.AssignShared: "a write of shared memory", ir.CallProc: "a procedure call", ir.Loop: "a nested loop",
             ir.Return: "a return", ir.Atomic: "an atomic block", ir.Check: "a check (assert)",
             ir.Assume: "an assume", ir.Await: "an await"}
    return words.get(type(st), f"a {type(st).__name__} statement")


def _written(stmts: tuple[ir.Stmt, ...]) -> set[int]:
    out: set[int] = set()
    for st in stmts:
        if isinstance(st, ir.Seq):
            out |= _written(st.body)
        elif isinstance(st, ir.AssignLocal):
            out.add(st.var.uid)
        elif isinstance(st, ir.If):
            out |= _written(st.then) | _written(st.other)
    return out


def _reads_of(e: ir.Expr) -> set[int]:
    out: set[int] = set()
    work: list[ir.Expr] = [e]
    while work:
        x = work.pop()
        if isinstance(x, ir.Local):
            out.add(x.var.uid)
        work.extend(_sub_exprs(x))
    return out


def _definite(stmts: tuple[ir.Stmt, ...], assigned: set[int], written: set[int]
              ) -> tuple[bool, set[int], list[set[int]]]:
    """Walk the statements in order: (no read of a loop-written local before it is assigned in
    this iteration, the locals assigned on falling through, the sets at each `continue`)."""
    d = set(assigned)
    conts: list[set[int]] = []
    for st in stmts:
        if isinstance(st, ir.Seq):
            ok, d, inner = _definite(st.body, d, written)
            conts += inner
        elif isinstance(st, ir.AssignLocal):
            ok = not (_reads_of(st.value) & written) - d
            d = d | {st.var.uid}
        elif isinstance(st, ir.Eval):
            ok = not (_reads_of(st.expr) & written) - d
        elif isinstance(st, ir.If):
            ok = not (_reads_of(st.cond) & written) - d
            ok1, d1, c1 = _definite(st.then, d, written)
            ok2, d2, c2 = _definite(st.other, d, written)
            ok = ok and ok1 and ok2
            conts += c1 + c2
            d = d1 & d2
        elif isinstance(st, ir.Continue):
            conts.append(d)
            ok = True
        else:
            ok = True
        if not ok:
            return False, d, conts
    return True, d, conts
