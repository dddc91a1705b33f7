"""Constraint groups held back from the solver until a satisfying assignment violates them
(NOTE(held-groups)); part of the solve stage: prove/solver.py's Session asks this module after
every SAT answer.

NOTE(held-groups): an encoding may state part of its axioms as groups of constraints, each over
the encoding's own variables and variables of its own, made for it alone (the marked level's
plain-coherence families, NOTE(marked-plain) in prove/lkmm_plain.py: one family of flags per
pre-race source). The solver is first asked without them. When it finds a satisfying
assignment, each group still held back is checked against it: the group's constraints with
every variable of the encoding fixed to the assignment's value leave a small formula over the
group's own variables, and a solver decides whether some value of those satisfies it (for a
group of flags bounded below, as the marked level's are, its least solution decides, computed
without a solver). A group that cannot be satisfied so is added to the session for good, and
the query is asked again; once every group held back can be, the assignment, extended by each
group's own solution (their own variables are disjoint), satisfies every constraint, so the
answer is the one the whole encoding gives. An UNSAT answer without some groups is UNSAT with them too. So the answers are
the whole encoding's; what changes is what the solver is asked: the groups a query's
assignments never violate stay out of it (counterexample-guided refinement of the encoding). A
group whose check the solver cannot decide is added, as one that is violated.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3


@dataclass(frozen=True)
class Held:
    """One group: what it states (for a reader), its constraints, and the names of the
    variables made for it alone. A group of flags (1-bit variables of its own) may say what its
    constraints are, so that it is checked without a solver (NOTE(held-groups)): `bounds`, each
    (flag, source, guard): when the guard holds, the flag is at least the source (another flag
    of the group, or the value 1); `forbids`, each (guard, flags): when the guard holds, every
    one of the flags is 0. The constraints are then exactly those."""

    label: str
    constraints: tuple[z3.BoolRef, ...]
    own: frozenset[str]
    bounds: tuple[tuple[z3.BitVecRef, z3.BitVecRef, z3.BoolRef | None], ...] | None = None
    forbids: tuple[tuple[z3.BoolRef, tuple[z3.BitVecRef, ...]], ...] | None = None


class HeldBack:
    """The groups of one encoding not yet given to the solver."""

    def __init__(self, groups: list[Held] | tuple[Held, ...]) -> None:
        self.pending: list[Held] = list(groups)
        self.added: list[Held] = []

    def violated(self, model: z3.ModelRef) -> list[z3.BoolRef]:
        """The constraints of every pending group the assignment cannot be extended to satisfy;
        those groups are pending no more."""
        out: list[z3.BoolRef] = []
        kept: list[Held] = []
        guards = _Guards(model)
        for group in self.pending:
            if _flags_extend(guards, group) if group.bounds is not None else _extends(model, group):
                kept.append(group)
            else:
                self.added.append(group)
                out.extend(group.constraints)
        self.pending = kept
        return out


class _Guards:
    """The assignment's value of each guard, evaluated once."""

    def __init__(self, model: z3.ModelRef) -> None:
        self.model = model
        self.known: dict[int, bool] = {}

    def holds(self, guard: z3.BoolRef | None) -> bool:
        if guard is None:
            return True
        key = guard.get_id()
        if key not in self.known:
            self.known[key] = z3.is_true(self.model.eval(guard, model_completion=True))
        return self.known[key]


def _flags_extend(guards: _Guards, group: Held) -> bool:
    """`_extends` for a group of flags: its least solution, the flags reached from the value 1
    along the bounds whose guards hold, is its best chance, since a forbid only asks flags to be
    0; so the group can be satisfied exactly when no forbid whose guard holds names a flag
    reached."""
    assert group.bounds is not None and group.forbids is not None
    after: dict[int, list[int]] = {}
    todo: list[int] = []
    for flag, source, guard in group.bounds:
        if not guards.holds(guard):
            continue
        if z3.is_bv_value(source):
            if source.as_long():
                todo.append(flag.get_id())
        else:
            after.setdefault(source.get_id(), []).append(flag.get_id())
    reached: set[int] = set()
    while todo:
        flag_id = todo.pop()
        if flag_id not in reached:
            reached.add(flag_id)
            todo.extend(after.get(flag_id, ()))
    return not any(guards.holds(guard) and any(f.get_id() in reached for f in flags) for guard, flags in group.forbids)


def _extends(model: z3.ModelRef, group: Held) -> bool:
    """Whether some values of the group's own variables, with every other variable at the
    assignment's value, satisfy the group's constraints."""
    rest = model.eval(z3.And(list(group.constraints)), model_completion=False)
    if z3.is_true(rest):
        return True
    if z3.is_false(rest):
        return False
    # a variable of the encoding that the assignment leaves out takes the value the assignment
    # gives it by completion, as the session's own evaluation does
    fixed = [(c, model.eval(c, model_completion=True)) for c in _constants(rest) if str(c) not in group.own]
    if fixed:
        rest = z3.substitute(rest, *fixed)
    solver = z3.SolverFor("QF_BV")
    solver.add(rest)
    return solver.check() == z3.sat


def _constants(term: z3.ExprRef) -> list[z3.ExprRef]:
    """The uninterpreted constants of a term, each once."""
    seen: set[int] = set()
    out: list[z3.ExprRef] = []
    todo = [term]
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            out.append(t)
        else:
            todo.extend(t.children())
    return out
