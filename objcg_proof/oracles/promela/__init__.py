"""Export a model to Promela, so that SPIN can cross-check the prover's verdicts.

Input: a model file, parsed (`parser.load_model`) and resolved (`resolve.resolve`, with the
`-D` values and `--bound`) to an `ir.Program`. The program is never unrolled or encoded: the
export shares nothing with the prover's back end (prove/unroll.py, prove/encode.py), which is the point of
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
- Properties are numbered as the prover lists them: 1 (leak), 2 (uaf), 3 (deadlock), then the
  model's own in order of first appearance (`PromelaModel.properties`); a model without a
  refcounted object has no leak, so uaf is 1 and deadlock 2 (`ir.builtin_properties`).
  `spin -DPROPERTY=n` keeps only property n's checks (0 or unset: all): an assert,
  lost_update, uaf or leak site is an `assert(c || !PROP_n_name)`, whose marker names the
  property in pan's "assertion violated" line. `spin -DPROPERTY=-1` is the survey mode: a failing check prints
  `objcg-prove: property n (name) violated` and the search goes on, so one exhaustive run
  (pan compiled with -DPRINTF -DNOREDUCE, run with -c0) finds every violated property.
  Leak is checked by the thread that finishes last: every refcount's count bits must be the
  number of the `final` block's `holds` naming it (0 without one); the final block's asserts
  are checked there too, on the globals (final.py).
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

The parts of the export, in the order a model goes through them:

- exporter.py: `to_promela` and `export_path`; the header, the declarations, the whole text.
- context.py: what is model-wide (globals' names, property numbers and selection, check sites).
- thread.py: a thread's statements into its control-flow graph (loops, calls, returns);
  atomic.py: atomic blocks; graph.py: the graph, one unit as an instruction, nondet() choices.
- final.py: the end of a run (leak, the `final` block), run by the thread that finishes last.
- unit.py: one unit's code (expressions, shared accesses, atomic and refcount builtins, failed
  accesses); waits.py: a step's wait condition as one expression, the guard of its node.
- facts.py: what a statement reads, writes, waits on or chooses, read off the IR.
- proctype.py: a graph cut into nodes, written as an `active proctype`.
- cfg.py (instructions), variables.py (a thread's locals), formulas.py (shared text pieces).
"""

from .cfg import FAIL
from .exporter import MAX_WIDTH, PromelaModel, export_path, to_promela
from .graph import MAX_CHOICES

__all__ = ["FAIL", "MAX_CHOICES", "MAX_WIDTH", "PromelaModel", "export_path", "to_promela"]
