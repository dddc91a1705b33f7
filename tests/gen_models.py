"""Hypothesis strategies for small random DSL models (differential testing, not a test file).

`models()` draws the *text* of a model built from the grammar's constructs (docs/dsl.md):

- `width 8; bound 2;`, two shared words, a two-element shared array, one or two ghost words,
  sometimes a lock word (shared or ghost);
- sometimes a refcounted struct `obj` (a word field, a const word, a pointer field `next`, a
  const pointer `peer`) with one or two objects (`o0, o1`, or an object array `o[N]`) and a
  shared pointer `ptr`;
- sometimes a procedure `f(a, b)` with a value, and a void procedure `w(c)`;
- two or three threads, each a short sequence of statements: word and pointer locals (one or
  two declarators) with arithmetic and bit operations on locals and constants, plain /
  READ_ONCE / WRITE_ONCE / atomic_read / atomic_set accesses (also through pointers and
  variable array indices), xchg, cmpxchg, try_cmpxchg(&x, &local, v), set_bit / clear_bit /
  test_and_set_bit / test_and_clear_bit, atomic_inc / dec / add / sub, atomic_dec_and_test,
  atomic_inc_not_zero, now and then the atomic_t operations (atomic_fetch_add / sub / and /
  or / andnot, atomic_add / sub / inc / dec_return, atomic_and / or / andnot, atomic_xchg /
  cmpxchg / try_cmpxchg), get / put / tryget / tryget_live / kill / refcount, spin_lock /
  spin_unlock, atomic blocks (a leading await and/or spin_lock, several accesses, two
  operations on one location, lock operations on branches, nested blocks), await, assume,
  nondet(2) / nondet(3), accesses that only happen on one side of `&&`, `||`, `?:`, if / else
  if / else, loops (constant and nondet trip counts, shared conditions, do-while, `while (1)`
  with a break, spin loops: `while (c) ;`, Peterson's two reads, a do-while re-reading a
  local), break / continue / return, procedure calls, tagged pointers, and
  assert / lost_update (labelled or not);
- sometimes a `final` block: one or two asserts on the memory at the end (labelled `fin`, `a1`
  as a thread's assert may be, or not) and, with objects, up to two `holds` of a pointer at the
  end (`ptr`, `&o0`, `o1.next`, NULL, maybe with its tag masked off).
- sometimes arrays (`Config.arrays`): the struct gets an array field `word vals[2]` (read,
  written and used by atomics through `o0.vals[k]`, `o[i].vals[j]`, `p->vals[i]`, with constant
  and local indices, which may be out of bounds), initialised `{ a, b }` or one value, the
  object array sometimes per element (`[1] = { ... }`); and local arrays `word la[2]`
  (initialised or not, indexed by constants and locals, also out of bounds);
- sometimes pointers to pointers (`Config.pp`, 9-bit words so that word addresses fit):
  `struct obj **pp = &ptr` / `&o0.next` / `&p->next` / `NULL`, and `*pp` wherever a pointer
  location stands (`*pp`, READ_ONCE(*pp), `*pp = v`, xchg(&*pp, v), xchg(pp, v)).

Every statement outside `atomic { }` makes at most one non-ghost shared access (the atomicity
rule), so every model resolves: `models()` resolves each text it produces and raises if it
does not (a generator bug). Models are kept small (few threads, short blocks, nesting depth 2,
8-bit words), and nothing counts up in a loop that may spin forever, so that both engines
answer in a few tens of milliseconds and the interpreter's state space stays small.

Shrinking: hypothesis shrinks towards the first entry of each `sampled_from` and towards
smaller integers, so the simplest choices come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from objcg_proof.lang import syntax
from objcg_proof.lang.diagnostics import UserError
from objcg_proof.lang.parser import parse_text
from objcg_proof.lang.resolve import resolve

WORD_OPS = ("+", "-", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=", "*", "<<", ">>", "&&", "||", "/", "%")
INDENT = "    "


@dataclass
class Config:
    objects: int           # 0 (no refcounted struct), 1 or 2
    objarray: bool         # the objects are an array o[N] (else o0, o1)
    lock: bool
    ghost_lock: bool       # the lock is a ghost word
    ghosts: tuple[str, ...]
    proc: bool
    void_proc: bool        # also `proc void w(word a)`
    threads: int
    arrays: bool = False   # an array field `vals[2]` in the struct, and local arrays
    pp: bool = False       # pointers to pointers (`struct obj **`)


@dataclass
class Scope:
    words: list[str] = field(default_factory=list)     # word locals that may be written
    fixed: list[str] = field(default_factory=list)     # loop counters: read only
    ptrs: list[str] = field(default_factory=list)      # struct obj * locals
    pps: list[str] = field(default_factory=list)       # struct obj ** locals
    arrays: list[str] = field(default_factory=list)    # local arrays `word la[2]` that may be written
    fixed_arrays: list[str] = field(default_factory=list)   # local arrays read only (in a spinning loop)
    loop: bool = False
    proc: bool = False
    void: bool = False     # in a void procedure
    atomic: bool = False
    depth: int = 0
    # in the body of a loop that may spin forever (shared condition): nothing may count up, so
    # that the state space stays small (the interpreter explores it completely)
    spin: bool = False

    def child(self, **changes: object) -> "Scope":
        s = Scope(list(self.words), list(self.fixed), list(self.ptrs), list(self.pps), list(self.arrays),
                  list(self.fixed_arrays), self.loop, self.proc, self.void, self.atomic, self.depth + 1, self.spin)
        for k, v in changes.items():
            setattr(s, k, v)
        return s

    def readable(self) -> list[str]:
        return self.words + self.fixed


class _Gen:
    def __init__(self, draw, cfg: Config) -> None:  # type: ignore[no-untyped-def]
        self.draw = draw
        self.cfg = cfg
        self.locals = 0
        self.asserts = 0

    # ---- drawing
    def pick(self, options):  # type: ignore[no-untyped-def]
        return self.draw(st.sampled_from(options))

    def rare(self, usual: str, other: str) -> str:
        """`usual`, or now and then (one time in eight) `other`."""
        return other if self.draw(st.integers(0, 7)) == 7 else usual

    def num(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def coin(self, p_true_of_4: int = 2) -> bool:
        """True with probability about p/4 (shrinks to False)."""
        return self.num(0, 3) >= 4 - p_true_of_4

    def fresh(self, prefix: str = "l") -> str:
        self.locals += 1
        return f"{prefix}{self.locals}"

    # ---- names
    def objects(self, scope: Scope | None = None) -> list[str]:
        """The objects, by name; with `scope`, also `o[i]` with a local index (maybe out of bounds)."""
        if self.cfg.objarray and self.cfg.objects:
            names = [f"o[{i}]" for i in range(self.cfg.objects)]
            if scope is not None and scope.readable() and self.coin(1):
                names.append(f"o[{self.pick(scope.readable())}]")
            return names
        return [f"o{i}" for i in range(self.cfg.objects)]

    def const(self) -> str:
        return str(self.pick((0, 1, 2, 3, 1, 255, 128, 8)))

    def word_loc(self, scope: Scope) -> str:
        """A non-ghost shared word location (for reads, writes and atomics)."""
        opts = ["x", "y", "arr[0]", "arr[1]"]
        if scope.readable():
            opts.append(f"arr[{self.pick(scope.readable())}]")
        for o in self.objects(scope):
            opts.append(f"{o}.data")
        for p in scope.ptrs:
            opts.append(f"{p}->data")
        if self.cfg.arrays and self.cfg.objects and self.coin(2):
            base = self.pick(self.objects(scope) + [f"{p}->" for p in scope.ptrs])
            return f"{base if base.endswith('->') else base + '.'}vals[{self.index(scope)}]"
        return self.pick(opts)

    def index(self, scope: Scope) -> str:
        """An array index: 0 or 1, or a local (maybe out of bounds)."""
        if scope.readable() and self.coin(2):
            return self.pick(scope.readable())
        return self.pick(("0", "1"))

    def ghost(self) -> str:
        return self.pick(self.cfg.ghosts)

    def ptr_value(self, scope: Scope) -> str:
        """A pure pointer-valued expression."""
        opts = ["NULL"] + [f"&{o}" for o in self.objects(scope)] + scope.ptrs
        if scope.ptrs and self.num(0, 5) == 0:
            opts.append(f"{self.pick(scope.ptrs)}->peer")     # a const field: no shared access
        if self.cfg.objects and self.num(0, 15) == 0:
            # a tagged pointer: not a valid object address
            opts = [f"(struct obj *)((word)&{self.objects()[0]} | 1)"]
        return self.pick(opts)

    def ref_target(self, scope: Scope) -> str:
        return self.pick([f"&{o}" for o in self.objects(scope)] + scope.ptrs)

    # ---- pure expressions (locals, constants, nondet; no shared access)
    def pure(self, scope: Scope, depth: int = 1) -> str:
        kind = self.num(0, 9) if depth > 0 else self.num(0, 5)
        readable = scope.readable()
        if kind <= 1 or (kind <= 3 and not readable):
            return self.const()
        if kind <= 3:
            arrays = scope.arrays + scope.fixed_arrays
            if arrays and self.coin(2):
                return f"{self.pick(arrays)}[{self.index(scope)}]"
            return self.pick(readable)
        if kind == 4:
            return f"nondet({self.pick((2, 3))})"
        if kind == 5:
            if scope.ptrs and self.cfg.objects:
                return f"({self.pick(scope.ptrs)} {self.pick(('==', '!='))} {self.ptr_value(scope)})"
            return self.const()
        if kind == 6:
            return f"{self.pick(('!', '~', '-'))}{self.pure(scope, depth - 1)}"
        if kind == 7:
            return f"({self.pure(scope, depth - 1)} ? {self.pure(scope, 0)} : {self.pure(scope, 0)})"
        return f"({self.pure(scope, depth - 1)} {self.pick(WORD_OPS)} {self.pure(scope, depth - 1)})"

    def value(self, scope: Scope) -> str:
        """A value to store: pure; only a constant in a spinning loop (no counters)."""
        return self.const() if scope.spin else self.pure(scope, 1)

    def cond_pure(self, scope: Scope) -> str:
        readable = scope.readable()
        if readable and self.coin(3):
            return f"{self.pick(readable)} {self.pick(('==', '!=', '<', '>='))} {self.pure(scope, 0)}"
        return self.pure(scope, 1)

    # ---- expressions with exactly one non-ghost shared access
    def access(self, scope: Scope) -> str:
        kind = self.num(0, 12)
        objs = self.objects()
        if kind <= 2:
            loc = self.word_loc(scope)
            return self.pick((loc, f"READ_ONCE({loc})", f"atomic_read(&{loc})"))
        if kind == 3:
            return f"{self.rare('xchg', 'atomic_xchg')}(&{self.word_loc(scope)}, {self.small(scope)})"
        if kind == 4:
            return f"{self.rare('cmpxchg', 'atomic_cmpxchg')}(&{self.word_loc(scope)}, {self.pure(scope, 0)}, {self.small(scope)})"
        if kind == 5 and scope.words:
            op = self.rare("try_cmpxchg", "atomic_try_cmpxchg")
            return f"{op}(&{self.word_loc(scope)}, &{self.pick(scope.words)}, {self.small(scope)})"
        if kind == 6:
            if self.coin(1):
                op = self.pick(("atomic_fetch_or", "atomic_fetch_and", "atomic_fetch_andnot"))
                return f"{op}({self.const()}, &{self.word_loc(scope)})"
            op = self.pick(("test_and_set_bit", "test_and_clear_bit"))
            return f"{op}({self.pick(('0', '1', '2', '7'))}, &{self.word_loc(scope)})"
        if kind == 7 and not scope.spin:
            loc = self.word_loc(scope)
            if self.coin(1):
                if self.coin():
                    return f"{self.pick(('atomic_inc_return', 'atomic_dec_return'))}(&{loc})"
                op = self.pick(("atomic_fetch_add", "atomic_fetch_sub", "atomic_add_return", "atomic_sub_return"))
                return f"{op}({self.pure(scope, 0)}, &{loc})"
            return f"{self.pick(('atomic_dec_and_test', 'atomic_inc_not_zero'))}(&{loc})"
        if kind in (8, 9) and objs:
            ops = ("refcount",) if scope.spin else ("tryget", "tryget_live", "refcount")
            return f"{self.pick(ops)}({self.ref_target(scope)})"
        if kind == 10 and objs:
            return self.ptr_access(scope)
        loc = self.word_loc(scope)
        return self.pick((loc, f"READ_ONCE({loc})"))

    def small(self, scope: Scope) -> str:
        return self.const() if scope.spin else self.pure(scope, 0)

    def ptr_loc(self, scope: Scope) -> str:
        """A shared pointer location: `ptr`, or the `next` field of an object, or `*pp`."""
        opts = ["ptr", "ptr", f"{self.pick(self.objects(scope))}.next"] + [f"{p}->next" for p in scope.ptrs]
        if scope.pps and self.coin(2):
            return f"*{self.pick(scope.pps)}"
        return self.pick(opts)

    def pp_value(self, scope: Scope) -> str:
        """A `struct obj **` value: the address of a pointer word (naming it may fail), or NULL."""
        opts = ["&ptr", f"&{self.pick(self.objects(scope))}.next"] + [f"&{p}->next" for p in scope.ptrs] + scope.pps
        return "NULL" if self.num(0, 11) == 0 else self.pick(opts)

    def ptr_access(self, scope: Scope) -> str:
        """A pointer-valued expression with one shared access (to a pointer location)."""
        loc = self.ptr_loc(scope)
        if scope.pps and self.num(0, 5) == 0:
            return f"xchg({self.pick(scope.pps)}, {self.ptr_value(scope)})"   # the pointer to a pointer itself
        return self.pick((loc, f"READ_ONCE({loc})", f"rcu_dereference({loc})",
                          f"xchg(&{loc}, {self.ptr_value(scope)})",
                          f"cmpxchg(&{loc}, {self.ptr_value(scope)}, {self.ptr_value(scope)})"))

    def with_ghost(self, scope: Scope) -> str:
        """A ghost read (any number may ride along with the one shared access)."""
        return self.ghost() if self.coin(3) else f"({self.ghost()} + {self.pure(scope, 0)})"

    def one_access(self, scope: Scope) -> str:
        """A word expression: pure, or with one shared access, maybe with ghost reads."""
        kind = self.num(0, 5)
        if kind == 0:
            return self.pure(scope, 1)
        if kind == 1:
            return self.with_ghost(scope)
        a = self.access(scope)
        if kind == 2:
            return a
        if kind == 3:
            return f"({a} {self.pick(WORD_OPS[:12])} {self.pure(scope, 0)})"
        if kind == 4:
            # the access may not happen (&&, ||, ?:): then the unit may perform no event
            return self.pick((f"({self.pure(scope, 0)} {self.pick(WORD_OPS[:12])} {a})",
                              f"({self.pure(scope, 0)} {self.pick(('&&', '||'))} {a})",
                              f"({self.pure(scope, 0)} ? {a} : {self.pure(scope, 0)})",
                              f"({self.pure(scope, 0)} ? {self.pure(scope, 0)} : {a})"))
        return f"({a} + {self.with_ghost(scope)})"

    def cond(self, scope: Scope) -> str:
        """A condition with at most one shared access."""
        kind = self.num(0, 4)
        if kind == 0:
            return self.cond_pure(scope)
        if kind == 1:
            return f"{self.ghost()} {self.pick(('==', '!=', '>='))} {self.pick(('0', '1', '2'))}"
        a = self.access(scope)
        if kind == 2:
            return a
        if kind == 3:
            return f"{a} {self.pick(('==', '!=', '<', '>='))} {self.pure(scope, 0)}"
        return f"!{a}"

    def await_cond(self, scope: Scope) -> str:
        kind = self.num(0, 3)
        if kind == 0:
            return f"{self.word_loc(scope)} {self.pick(('==', '!=', '>='))} {self.pick(('1', '0', '2'))}"
        if kind == 1:
            return f"{self.ghost()} {self.pick(('==', '>='))} {self.pick(('1', '2'))}"
        if kind == 2 and self.cfg.lock:
            return "lock == 0"
        return self.cond(scope)

    # ---- statements
    def block(self, scope: Scope, lo: int, hi: int) -> list[str]:
        out: list[str] = []
        for _ in range(self.num(lo, hi)):
            out += self.stmt(scope)
        return out

    def stmt(self, scope: Scope) -> list[str]:
        """One statement (or a short group, like lock/unlock) as lines; may extend `scope`."""
        nested = scope.depth < 2
        kinds = ["decl", "assign", "write", "rmw", "assert", "decl", "ghost", "atomic", "if", "await",
                 "assume", "ref", "loop", "lock", "call", "jump", "return", "ptr", "spin"]
        kind = self.pick(kinds)
        objs = self.objects()
        if kind == "decl" and self.cfg.arrays and self.coin(2):
            name = self.fresh("la")
            init = self.pick(("", f" = {{{self.const()}, {self.const()}}}", f" = {{{self.one_access(scope)}}}"))
            lines = [f"word {name}[2]{init};"]
            if not scope.spin and self.coin(2):
                lines.append(f"{name}[{self.index(scope)}] = {self.one_access(scope)};")
            scope.arrays.append(name)
            return lines
        if kind == "decl":
            name = self.fresh()
            text = f"word {name} = {self.one_access(scope)}" if self.coin(3) else f"word {name}"
            scope.words.append(name)
            if self.num(0, 5) == 0:
                # a second declarator: a unit of its own
                other = self.fresh()
                text += f", {other} = {self.one_access(scope)}"
                scope.words.append(other)
            return [text + ";"]
        if kind == "ptr" and objs and self.cfg.pp and self.coin(3):
            name = self.fresh("pp")
            value = self.pp_value(scope)
            scope.pps.append(name)
            # and one access through it right away (more may follow: `*pp` is a pointer location)
            v = self.ptr_value(scope)
            use = self.pick((f"*{name} = {v};", f"WRITE_ONCE(*{name}, {v});", f"xchg({name}, {v});",
                             f"{self.pick(scope.words)} = (READ_ONCE(*{name}) == {v});" if scope.words else f"*{name} = {v};"))
            return [f"struct obj **{name} = {value};", use]
        if kind == "assign" and scope.arrays and not scope.spin and self.coin(1):
            return [f"{self.pick(scope.arrays)}[{self.index(scope)}] = {self.one_access(scope)};"]
        if kind == "ptr" and objs:
            name = self.fresh("p")
            value = self.ptr_access(scope) if self.coin(3) else self.ptr_value(scope)
            scope.ptrs.append(name)
            return [f"struct obj *{name} = {value};"]
        if kind == "assign" and (scope.words or scope.ptrs):
            if scope.ptrs and self.coin(1):
                p = self.pick(scope.ptrs)
                return [f"{p} = {self.ptr_access(scope) if self.coin() else self.ptr_value(scope)};"]
            if not scope.words:
                return [";"]
            v = self.pick(scope.words)
            form = self.num(0, 3)
            if form == 0:
                return [f"{v} = {self.one_access(scope)};"]
            if form == 1:
                return [f"{v} {self.pick(('+=', '-=', '|=', '&=', '^=', '<<=', '>>='))} {self.pure(scope, 0)};"]
            if form == 2:
                return [f"{v}{self.pick(('++', '--'))};"]
            return [f"{v} = {self.pure(scope, 2)};"]
        if kind == "write":
            form = self.num(0, 3)
            loc = self.word_loc(scope)
            value = self.value(scope)
            if form == 3 and objs:
                v = self.ptr_value(scope)
                loc = self.ptr_loc(scope)
                return [self.pick((f"{loc} = {v};", f"WRITE_ONCE({loc}, {v});"))]
            return [self.pick((f"{loc} = {value};", f"WRITE_ONCE({loc}, {value});", f"atomic_set(&{loc}, {value});"))]
        if kind == "rmw":
            loc = self.word_loc(scope)
            form = self.num(0, 4)
            if scope.spin and form < 2:
                form = 2
            if form == 0:
                return [f"{self.pick(('atomic_inc', 'atomic_dec'))}(&{loc});"]
            if form == 1:
                return [f"{self.pick(('atomic_add', 'atomic_sub'))}({self.pure(scope, 0)}, &{loc});"]
            if form == 2:
                if self.coin(1):
                    return [f"{self.pick(('atomic_or', 'atomic_and', 'atomic_andnot'))}({self.const()}, &{loc});"]
                return [f"{self.pick(('set_bit', 'clear_bit'))}({self.pick(('0', '1', '2'))}, &{loc});"]
            return [f"{self.access(scope)};"]
        if kind == "assert":
            return [self.assertion(scope)]
        if kind == "ghost":
            g = self.ghost()
            form = self.num(0, 3)
            if scope.spin:
                return [f"{g} = {self.pick((self.const(), self.access(scope)))};"]
            if form == 0:
                return [f"{g}{self.pick(('++', '--'))};"]
            if form == 1:
                return [f"{g} = {self.one_access(scope)};"]
            if form == 2 and scope.words:
                return [f"{self.pick(scope.words)} = {g};"]
            return [f"{g} = {g} + {self.pure(scope, 0)};"]
        if kind == "atomic" and not scope.atomic:
            return self.atomic_block(scope)
        if kind == "if" and nested:
            lines = [f"if ({self.cond(scope)}) {{"] + self.indent(self.block(scope.child(), 1, 2))
            if self.num(0, 5) == 0:
                lines += [f"}} else if ({self.cond(scope)}) {{"] + self.indent(self.block(scope.child(), 1, 1))
            if self.coin(1):
                lines += ["} else {"] + self.indent(self.block(scope.child(), 1, 2))
            return lines + ["}"]
        if kind == "await":
            return [f"await({self.await_cond(scope)});"] if not scope.atomic else [";"]
        if kind == "assume":
            return [f"assume({self.cond(scope) if self.coin(3) else self.cond_pure(scope)});"]
        if kind == "ref" and objs and not scope.spin:
            return [f"{self.pick(('get', 'put', 'kill'))}({self.ref_target(scope)});"]
        if kind == "loop" and nested and not scope.atomic:
            return self.loop(scope)
        if kind == "spin" and not scope.atomic:
            return self.spin_loop(scope)
        if kind == "lock" and self.cfg.lock and not scope.atomic and nested:
            body = self.block(scope.child(), 0, 2)
            unlock = [] if self.num(0, 7) == 0 else ["spin_unlock(&lock);"]
            return ["spin_lock(&lock);"] + self.indent(body) + unlock
        if kind == "call" and self.cfg.proc and not scope.proc and not scope.atomic and not scope.spin:
            if self.cfg.void_proc and self.coin(1):
                return [f"w({self.one_access(scope)});"]
            args = f"{self.one_access(scope)}, {self.one_access(scope)}"
            form = self.num(0, 2)
            if form == 0 or not scope.words:
                name = self.fresh()
                scope.words.append(name)
                return [f"word {name} = f({args});"]
            if form == 1:
                return [f"{self.pick(scope.words)} = f({args});"]
            return [f"f({args});"]
        if kind == "jump" and scope.loop and not scope.atomic:
            return [f"if ({self.cond(scope)})", INDENT + self.pick(("break;", "continue;"))]
        if kind == "return" and not scope.atomic and self.num(0, 2) == 0:
            if scope.proc and not scope.void:
                return [f"return {self.one_access(scope)};"]
            if scope.void:
                return [f"if ({self.cond(scope)})", INDENT + "return;"]
            return [f"if ({self.cond(scope)})", INDENT + "return;"]
        # fallback: a cheap statement
        return [self.assertion(scope)] if self.coin() or scope.spin else [f"{self.ghost()}++;"]

    def assertion(self, scope: Scope) -> str:
        self.asserts += 1
        label = f"a{self.asserts}" if self.asserts == 1 or self.num(0, 5) else "a1"
        c = self.cond(scope) if self.coin(2) else self.cond_pure(scope)
        form = self.num(0, 9)
        if form == 1:
            return f"assert({c});"                      # property assert@FILE:LINE
        if form == 2:
            return f'lost_update({c}, "u{self.asserts}");'
        if form == 3:
            return f"lost_update({c});"                 # property lost_update
        return f'assert({c}, "{label}");'

    def atomic_block(self, scope: Scope) -> list[str]:
        inner = scope.child(atomic=True)
        lines = []
        if self.coin(1):
            lines.append(f"await({self.await_cond(inner)});")
        if self.cfg.lock and self.num(0, 5) == 0:
            lines.append("spin_lock(&lock);")      # its wait condition joins the await's
        for _ in range(self.num(1, 2)):
            lines += self.atomic_stmt(inner)
        return ["atomic {"] + self.indent(lines) + ["}"]

    def atomic_stmt(self, scope: Scope) -> list[str]:
        """A statement inside atomic { }: may make several shared accesses."""
        kind = self.num(0, 6)
        if kind == 0:
            name = self.fresh()
            text = f"word {name} = {self.access(scope)} {self.pick(('+', '-', '^', '|'))} {self.access(scope)};"
            scope.words.append(name)
            return [text]
        if kind == 1:
            loc = self.word_loc(scope)
            if scope.spin:
                return [f"{loc} = {self.access(scope)};"]
            return [self.pick((f"{loc}++;", f"{loc} += {self.pure(scope, 0)};", f"{loc} = {self.access(scope)};",
                               f"{loc} ^= {self.access(scope)};"))]
        if kind == 2:
            return [f"if ({self.cond(scope)}) {{"] + self.indent(self.atomic_stmt(scope.child())) + ["}"]
        if kind == 3:
            return [f"{self.ghost()} = {self.access(scope)};"]
        if kind == 5:
            # two operations on one location in one step
            if self.cfg.objects and self.coin(2):
                target = self.ref_target(scope)
                ops = ("get", "put", "kill", "tryget", "tryget_live", "refcount") if not scope.spin else ("refcount",)
                return [f"{self.pick(ops)}({target});", f"{self.pick(ops)}({target});"]
            loc = self.word_loc(scope)
            ops = [f"{loc} = {self.small(scope)};", f"{self.ghost()} = {loc};",
                   f"xchg(&{loc}, {self.small(scope)});", f"set_bit(1, &{loc});"]
            if not scope.spin:
                ops += [f"atomic_inc(&{loc});", f"atomic_dec_and_test(&{loc});"]
            return [self.pick(ops), self.pick(ops)]
        if kind == 6 and self.cfg.lock and self.coin(2):
            # a lock operation anywhere in the block (on a branch: a wait only on that path)
            return [self.pick(("spin_lock(&lock);", "spin_unlock(&lock);"))]
        if kind == 4 and self.num(0, 3) == 0:
            # a nested block is merged into the outer one
            return ["atomic {"] + self.indent(self.atomic_stmt(scope.child())) + ["}"]
        return self.stmt(scope)

    def loop(self, scope: Scope) -> list[str]:
        form = self.num(0, 6)
        if form == 6:
            return self.spin_loop(scope)
        body_scope = scope.child(loop=True)
        if form <= 1:
            i = self.fresh("i")
            bound = str(self.num(1, 3))
            if form == 1 and scope.readable():
                bound = self.pick(scope.readable())
            body_scope.fixed.append(i)
            head = f"for (word {i} = 0; {i} < {bound}; {i}++) {{"
            if form == 1 and bound in scope.words:
                # keep pure loops finite: the counter runs up to a value the body cannot change
                n = self.fresh("n")
                body_scope.fixed.append(n)
                body_scope.words = [w for w in body_scope.words if w != bound]
                return [f"word {n} = {bound} & 3;", f"for (word {i} = 0; {i} < {n}; {i}++) {{"] + \
                    self.indent(self.block(body_scope, 1, 2)) + ["}"]
            return [head] + self.indent(self.block(body_scope, 1, 2)) + ["}"]
        c = self.loop_cond(scope.child(spin=True))
        # a loop on a shared condition may spin forever: its body counts nothing up, and the
        # locals declared outside it are read-only in it
        body_scope.spin = True
        body_scope.fixed += body_scope.words
        body_scope.words = []
        body_scope.fixed_arrays += body_scope.arrays
        body_scope.arrays = []
        if form == 2:
            return [f"while ({c}) {{"] + self.indent(self.block(body_scope, 1, 2)) + ["}"]
        if form == 3:
            return ["do {"] + self.indent(self.block(body_scope, 1, 2)) + [f"}} while ({c});"]
        if form == 4:
            return ["while (1) {"] + self.indent(self.block(body_scope, 0, 2)) + \
                [f"{INDENT}if ({c})", INDENT * 2 + "break;"] + ["}"]
        n = self.fresh("n")
        i = self.fresh("i")
        body_scope.fixed += [n, i]
        return [f"word {n} = nondet(3);", f"for (word {i} = 0; {i} < {n}; {i}++) {{"] + \
            self.indent(self.block(body_scope, 1, 2)) + ["}"]

    def spin_loop(self, scope: Scope) -> list[str]:
        """A spin loop (docs/semantics.md, "Spin loops"): it only reads until a condition holds;
        the condition may never hold (a deadlock), or hold only on values read apart."""
        def read() -> str:
            return self.pick(("READ_ONCE(x)", "x", "y", "arr[0]", "arr[1]", self.ghost()))

        def test(v: str) -> str:
            return f"{v} {self.pick(('==', '!=', '<'))} {self.pick(('0', '1', '2'))}"

        shape = self.num(0, 2)
        if shape == 0:
            return [f"while ({test(read())})", INDENT + ";"]
        if shape == 1:
            # Peterson's shape: two reads, a way out after each
            a, b = self.fresh(), self.fresh()
            return ["while (1) {", f"{INDENT}word {a} = {read()};", f"{INDENT}if ({test(a)})", INDENT * 2 + "break;",
                    f"{INDENT}word {b} = {read()};", f"{INDENT}if ({test(b)} {self.pick(('&&', '||'))} {test(a)})",
                    INDENT * 2 + "break;", "}"]
        # do-while: a local declared before the loop, assigned in it before its condition reads it
        v = self.fresh()
        scope.words.append(v)
        return [f"word {v} = 0;", "do {", f"{INDENT}{v} = {read()};", f"}} while ({test(v)});"]

    def loop_cond(self, scope: Scope) -> str:
        """A loop condition that reads shared state (so that every iteration is a step)."""
        kind = self.num(0, 2)
        if kind == 0:
            return f"{self.pick(('READ_ONCE(x)', 'x', 'y', 'arr[0]'))} {self.pick(('==', '!=', '<'))} {self.pick(('0', '1', '2'))}"
        if kind == 1:
            return f"{self.ghost()} {self.pick(('<', '!=')) } {self.pick(('1', '2'))}"
        return self.access(scope)

    def vals_init(self) -> str:
        return self.pick((f"{{{self.num(0, 2)}, {self.num(0, 2)}}}", str(self.num(0, 2)), f"{{{self.num(0, 2)}}}"))

    @staticmethod
    def indent(lines: list[str]) -> list[str]:
        return [INDENT + ln for ln in lines]

    # ---- the model
    def model(self) -> str:
        cfg = self.cfg
        out = ["width 9;" if cfg.pp else "width 8;", "bound 2;"]
        if cfg.objects:
            vals = " word vals[2];" if cfg.arrays else ""
            out.append(f"refcounted struct obj {{ word data; const word id; struct obj *next; const struct obj *peer;{vals} }};")
            if cfg.objarray and cfg.arrays and self.coin(1):
                # per-element initialisers; the elements without one are all 0
                elements = ", ".join(f"[{i}] = {{ .data = {self.num(0, 2)}, .id = 1, .vals = {self.vals_init()} }}"
                                     for i in range(cfg.objects) if self.coin(3))
                out.append(f"object struct obj o[{cfg.objects}] = {{ {elements or '[0] = { .id = 1 }'} }};")
            elif cfg.objarray:
                out.append(f"object struct obj o[{cfg.objects}] = {{ .data = {self.num(0, 2)}, .id = 1, "
                           f".peer = &o[{cfg.objects - 1}]{', .vals = ' + self.vals_init() if cfg.arrays else ''} }};")
            else:
                decls = ", ".join(f"o{i} = {{ .data = {self.num(0, 2)}, .id = {i + 1}, .next = {self.pick(('NULL', '&o0'))}, "
                                  f".peer = {self.pick(('NULL', '&o0'))}{', .vals = ' + self.vals_init() if cfg.arrays else ''} }}"
                                  for i in range(cfg.objects))
                out.append(f"object struct obj {decls};")
            out.append(f"shared struct obj *ptr = {self.pick(['&' + self.objects()[0], 'NULL'] + ['&' + o for o in self.objects()[1:]])};")
        out.append(f"shared word x = {self.num(0, 2)}, y = {self.num(0, 2)};")
        out.append(f"shared word arr[2] = {{{self.num(0, 2)}, {self.num(0, 2)}}};")
        if cfg.lock:
            out.append(f"{'ghost' if cfg.ghost_lock else 'shared'} word lock = 0;")
        for g in cfg.ghosts:
            out.append(f"ghost word {g} = 0;")
        if cfg.proc:
            scope = Scope(words=["a", "b"], proc=True, depth=1)
            body = self.block(scope, 0, 2)
            out.append("proc word f(word a, word b) {")
            # one in four ends without `return`: the call then returns 0 (docs/semantics.md)
            tail = [] if self.num(0, 3) == 0 else [f"return {self.one_access(scope)};"]
            out += self.indent(body + tail)
            out.append("}")
        if cfg.proc and cfg.void_proc:
            scope = Scope(words=["c"], proc=True, void=True, depth=1)
            out.append("proc void w(word c) {")
            out += self.indent(self.block(scope, 1, 2))
            out.append("}")
        for t in range(cfg.threads):
            scope = Scope()
            stmts = [self.stmt(scope) for _ in range(self.num(1, 5))]
            if cfg.objects and self.coin(3):
                # an owner drops an object's initial reference, so that leak can be proved
                o = self.pick(self.objects())
                stmts.insert(self.num(0, len(stmts)), [f"{self.pick(('kill', 'put'))}(&{o});"])
            body = [line for lines in stmts for line in lines]
            out.append(f"thread T{t} {{")
            out += self.indent(body)
            out.append("}")
        if self.coin(2):
            out += self.final_block()
        return "\n".join(out) + "\n"

    # ---- the final block (docs/semantics.md, "End-of-run checks")
    def final_block(self) -> list[str]:
        """`final { ... }`: asserts on the memory at the end (a label of their own, or one a
        thread's assert may have too) and, with objects, `holds` of a pointer there."""
        body = []
        for _ in range(self.num(1, 2)):
            c = self.final_expr(2)
            form = self.num(0, 3)
            body.append(f"assert({c});" if form == 1 else f'assert({c}, "{"a1" if form == 2 else "fin"}");')
        if self.cfg.objects:
            for _ in range(self.num(0, 2)):
                body.insert(self.num(0, len(body)), f"holds({self.final_ptr()});")
        return ["final {"] + self.indent(body) + ["}"]

    def final_loc(self) -> str:
        """A location a final expression may read: named statically (no `->`, no variable index)."""
        opts = ["x", "y", "arr[0]", "arr[1]", *self.cfg.ghosts]
        opts += [f"{o}.data" for o in self.objects()]
        if self.cfg.lock:
            opts.append("lock")
        return self.pick(opts)

    def final_ptr(self) -> str:
        """A pointer at the end: NULL, an object, a shared pointer, maybe with its tag masked off."""
        opts = ["ptr", "NULL"] + [f"&{o}" for o in self.objects()] + [f"{o}.next" for o in self.objects()]
        p = self.pick(opts)
        return p if not self.coin(1) else f"({p} & ~1)"

    def final_expr(self, depth: int) -> str:
        """A pure, total word expression on the final memory (every operator but / and %)."""
        kind = self.num(0, 9) if depth > 0 else self.num(0, 4)
        if kind <= 1:
            return self.const()
        if kind <= 3:
            return self.final_loc()
        if kind == 4:
            if self.cfg.objects:
                o = self.pick(self.objects())
                return self.pick((f"refcount(&{o})", f"{o}.id", f"(ptr == &{o})", f"({o}.next != NULL)"))
            return f"READ_ONCE({self.final_loc()})"
        if kind == 5:
            return f"{self.pick(('!', '~', '-'))}{self.final_expr(depth - 1)}"
        if kind == 6:
            return f"({self.final_expr(depth - 1)} ? {self.final_expr(0)} : {self.final_expr(0)})"
        ops = tuple(op for op in WORD_OPS if op not in ("/", "%"))
        return f"({self.final_expr(depth - 1)} {self.pick(ops)} {self.final_expr(depth - 1)})"


def check_resolves(text: str, file: str = "gen.dsl") -> None:
    """Raise (with the model text) if `text` does not parse and resolve."""
    try:
        resolve(syntax.Module(file, tuple(parse_text(text, file))))
    except UserError as exc:
        messages = "\n".join(d.message for d in exc.diagnostics)
        raise AssertionError(f"generated model does not resolve:\n{messages}\n{text}") from None


@st.composite
def models(draw) -> str:  # type: ignore[no-untyped-def]
    ghosts = ("g",) if not draw(st.booleans()) else ("g", "h")
    cfg = Config(objects=draw(st.integers(0, 2)), objarray=draw(st.integers(0, 3)) == 3, lock=draw(st.booleans()),
                 ghost_lock=draw(st.integers(0, 3)) == 3, ghosts=ghosts, proc=draw(st.booleans()),
                 void_proc=draw(st.booleans()), threads=draw(st.integers(2, 3)),
                 arrays=draw(st.integers(0, 2)) == 2, pp=draw(st.integers(0, 3)) == 3)
    text = _Gen(draw, cfg).model()
    check_resolves(text)
    return text


# ---- a design as a difference (docs/dsl.md, "replace and extend") ----------------------------
_PLACEHOLDERS = {"proc word f(word a, word b) {": "    return a;", "proc void w(word c) {": ""}
BASE_FILE = "base.dsl"


@st.composite
def split_models(draw) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """A model (`models()`) and the same model split into a base (`BASE_FILE`) and a difference
    that includes it: each chosen procedure (f, w) has a placeholder body in the base and its
    drawn one as a `replace proc` in the difference; the shared word x may be replaced too (with
    its drawn initial value, the base's being 0); each three times in four. Returns (full
    text, base, difference)."""
    text = draw(models())
    lines = text.split("\n")
    base, replaced = [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line in _PLACEHOLDERS and draw(st.integers(0, 3)) != 0:
            end = lines.index("}", i)
            replaced += ["replace " + line, *lines[i + 1:end + 1]]
            base += [line] + ([_PLACEHOLDERS[line]] if _PLACEHOLDERS[line] else []) + ["}"]
            i = end + 1
            continue
        if line.startswith("shared word x = ") and draw(st.integers(0, 3)) != 0:
            x, rest = line.removeprefix("shared word ").split(", ", 1)
            replaced.append(f"replace shared word {x};")
            line = f"shared word x = 0, {rest}"
        base.append(line)
        i += 1
    difference = "\n".join([f'include "{BASE_FILE}";', *replaced]) + "\n"
    return text, "\n".join(base), difference
