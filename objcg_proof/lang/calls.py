"""Procedure calls in the resolve stage: the call graph and what inlining allows.

Procedures are inlined by the later stages, so `CallGraph` records who calls whom while the
bodies are resolved and refuses recursion, and `check_inlined_depth` refuses call chains that
would nest deeper once inlined than the later stages can walk (MAX_INLINED_NESTING,
NOTE(nesting) in lang/parser.py). `declared_properties` lists the checks the threads can reach.
"""

from __future__ import annotations

from . import ir
from .names import Names

MAX_INLINED_NESTING = 200   # statement levels once calls are inlined (check_inlined_depth)


class CallGraph:
    """Who calls whom, recorded while procedure, thread and common-path bodies are resolved."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.procs = names.procs
        self.calls: dict[str, set[str]] = {}
        self.caller = ""   # the body being resolved: a procedure's name, "thread T", "common_path C"

    def enter(self, caller: str) -> None:
        self.caller = caller

    def record(self, callee: str) -> None:
        self.calls.setdefault(self.caller, set()).add(callee)

    def check_recursion(self) -> None:
        """Recursion is an error (procedures are inlined). Iterative: a chain of a thousand
        procedures must not exhaust Python's stack here."""
        state: dict[str, int] = {}
        for root in sorted(self.procs):
            if state.get(root):
                continue
            state[root] = 1
            path = [root]
            todo = [iter(sorted(self.calls.get(root, ())))]
            while todo:
                q = next(todo[-1], None)
                if q is None:
                    state[path.pop()] = 2
                    todo.pop()
                elif q in self.procs and state.get(q) == 1:
                    cycle = path[path.index(q):] + [q]
                    self.names.err(self.procs[q].span, "procedures are inlined, so recursion is not supported: " + " -> ".join(cycle))
                elif q in self.procs and not state.get(q):
                    state[q] = 1
                    path.append(q)
                    todo.append(iter(sorted(self.calls.get(q, ()))))


def check_inlined_depth(names: Names, procs: list[ir.Proc | None], bodies: list[tuple[str, tuple[ir.Stmt, ...]]]) -> None:
    """Blocks and calls nest at most MAX_INLINED_NESTING levels once procedures are inlined
    (NOTE(nesting) in lang/parser.py: the later stages recurse once per level). Each procedure's
    height is computed once, callees first, without recursion."""
    by_name = {p.name: p for p in procs if p is not None}
    nests = {name: nesting(p.body) for name, p in by_name.items()}
    height: dict[str, tuple[int, tuple[str, ...]]] = {}   # levels, the deepest call chain
    for root in by_name:
        stack = [root]
        while stack:
            name = stack[-1]
            if name in height:
                stack.pop()
                continue
            waiting = [c.proc for _, c in nests[name][1] if c.proc in by_name and c.proc not in height]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            best: tuple[int, tuple[str, ...]] = (nests[name][0], (name,))
            for depth, call in nests[name][1]:
                if call.proc in height and depth + height[call.proc][0] > best[0]:
                    best = (depth + height[call.proc][0], (name,) + height[call.proc][1])
            height[name] = best
    for owner, body in bodies:
        for depth, call in nesting(body)[1]:
            if call.proc not in height:
                continue
            levels, chain = height[call.proc]
            if depth + levels > MAX_INLINED_NESTING:
                shown = " -> ".join((owner,) + chain[:8]) + (" -> ..." if len(chain) > 8 else "")
                names.err(call.span, f"call chain too deep: once procedures are inlined, blocks and calls nest "
                          f"{depth + levels} levels deep here (the limit is {MAX_INLINED_NESTING})",
                          f"the deepest chain ({len(chain)} calls): {shown}")
                return


def declared_properties(procs: tuple[ir.Proc, ...], threads: tuple[ir.Thread, ...]) -> tuple[tuple[str, str], ...]:
    """The assert/lost_update properties of every check the threads can reach through calls."""
    by_name = {p.name: p for p in procs}
    found: list[tuple[int, str, int, str, str]] = []
    visited: set[str] = set()

    def walk(stmts: tuple[ir.Stmt, ...]) -> None:
        for st in stmts:
            if isinstance(st, ir.Check):
                name = ir.property_name(st.kind, st.label, st.span)
                found.append((0, st.span.file, st.span.line, st.kind, name))
            elif isinstance(st, ir.CallProc):
                if st.proc not in visited and st.proc in by_name:
                    visited.add(st.proc)
                    walk(by_name[st.proc].body)
            elif isinstance(st, (ir.Seq, ir.Atomic)):
                walk(st.body)
            elif isinstance(st, ir.If):
                walk(st.then)
                walk(st.other)
            elif isinstance(st, ir.Loop):
                walk(st.body)
                walk(st.step)

    for t in threads:
        walk(t.body)
    out: list[tuple[str, str]] = []
    for _, _, _, kind, name in found:
        if (kind, name) not in out:
            out.append((kind, name))
    return tuple(out)


def nesting(body: tuple[ir.Stmt, ...]) -> tuple[int, list[tuple[int, ir.CallProc]]]:
    """How many statement levels `body` nests, and each procedure call with its level."""
    deepest, calls = 0, []
    stack = [(body, 1)]
    while stack:
        stmts, depth = stack.pop()
        for st in stmts:
            deepest = max(deepest, depth)
            if isinstance(st, ir.CallProc):
                calls.append((depth, st))
            elif isinstance(st, (ir.Seq, ir.Atomic)):
                stack.append((st.body, depth + 1))
            elif isinstance(st, ir.If):
                stack += [(st.then, depth + 1), (st.other, depth + 1)]
            elif isinstance(st, ir.Loop):
                stack += [(st.body, depth + 1), (st.step, depth + 1)]
    return deepest, calls
