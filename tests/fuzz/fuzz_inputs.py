"""Inputs for the fuzzer (tests/fuzz/test_fuzz.py, scripts/fuzz.py): `Case`s, each a little directory
of files and a command line. Plain Python (no hypothesis, no objcg_proof): case number `i` of
seed `s` is the same on every machine (`case(seed, i)`).

Families (docs/fuzzing.md):
- `byte`, `token`, `line`: one to three mutations of a shipped model (models/*.dsl,
  models/examples/*.dsl, or models/harness/objcg.dsl under one of the designs that include
  it); the case directory holds the design and `harness/objcg.dsl`, so includes resolve;
- `grammar`: a small program drawn from the constructs of grammar/objcg.lark, mostly valid;
- `odd`: the hand-written programs and command lines of issue 8 (`odd_cases()`);
- `gate`: `objcg-prove check` on counter.dsl with its ledger record or cache entry corrupted
  (the pristine files come from the oracle's `gate_seed()`, passed in as `gate_files`).

Each case picks how far the prover goes (`MODES`): `compile` (parse, resolve, unroll and
encode: `-p` with a property no model has, so nothing is solved), `prove` (the full prover at
bound 1 with a 2 s solver timeout), `export` (Promela) or `simulate` (30 interpreter steps).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
HARNESS = "harness/objcg.dsl"
# the property `-p` asks for in `compile` mode: no model has it, so nothing is solved and the
# run ends with this usage error after every model compiled (the oracle expects it)
NO_PROPERTY = "fuzz-compile-only"
MODES = ("compile", "prove", "export", "simulate")


@dataclass
class Case:
    family: str                          # byte, token, line, grammar, odd, gate
    origin: str                          # what it was made from, for the reader
    files: dict[str, bytes]              # path relative to the case directory -> content
    argv: list[str]                      # run in the case directory
    subject: str                         # the file the minimiser shrinks
    links: dict[str, str] = field(default_factory=dict)    # symlink name -> target
    fifos: tuple[str, ...] = ()
    expect_status: int | None = None     # a bad command-line value: this status is required
    outputs: tuple[str, ...] = ()        # files the command writes that must be valid (xml, json)
    setup: tuple[tuple[str, ...], ...] = ()   # command lines run first (their outcome is not judged)

    def mode(self) -> str:
        if self.argv and self.argv[0] in ("export", "simulate", "check"):
            return self.argv[0]
        return "compile" if NO_PROPERTY in self.argv else "prove"


# ---- command lines --------------------------------------------------------------------------


def command(mode: str, model: str, rng: random.Random) -> list[str]:
    if mode == "compile":
        argv = ["-p", NO_PROPERTY, model]
    elif mode == "prove":
        argv = ["--timeout", "2", "-k", "1", "--no-traces" if rng.random() < 0.3 else "--allow-bounded", model]
    elif mode == "export":
        return ["export", model]
    else:
        return ["simulate", "--steps", "30", "--seed", str(rng.randrange(100)), model]
    if rng.random() < 0.2:
        argv.insert(0, "--json")
    return argv


def pick_mode(rng: random.Random, weights: tuple[int, int, int, int]) -> str:
    return rng.choices(MODES, weights)[0]


# ---- the shipped models ---------------------------------------------------------------------


# The harness's params set to the narrow setting of the scenario (tests/narrow/): a mutated
# design is then checked in seconds, well inside the per-input time limit, as it was before the
# scenario grew; the full scenario is the gate's and tests/prove/test_models.py's.
NARROW = {"MIGRATIONS": 1, "ALLOCS": 2, "KALLOCS": 1, "EXIT_ALLOCS": 0, "LATE_FREES": 0, "EARLY_OFFLINE": 0}


def narrow_harness() -> bytes:
    text = (MODELS / HARNESS).read_text(encoding="utf-8")
    for name, value in NARROW.items():
        text = re.sub(rf"^param {name} = \d+;", f"param {name} = {value};", text, count=1, flags=re.MULTILINE)
    return text.encode("utf-8")


def shipped() -> dict[str, bytes]:
    """Every shipped model, by path relative to models/ (the harness narrowed: NARROW)."""
    files = sorted(MODELS.glob("*.dsl")) + sorted(MODELS.glob("examples/*.dsl"))
    return {**{p.relative_to(MODELS).as_posix(): p.read_bytes() for p in files}, HARNESS: narrow_harness()}


def designs(models: dict[str, bytes]) -> list[str]:
    return [name for name, text in models.items() if b'include "harness/objcg.dsl"' in text]


# ---- mutations --------------------------------------------------------------------------------

ODD_BYTES = [b"\x00", b"\xff", b"\xc3", b"\x0c", "\u2028".encode(), "\u0085".encode(), b"\r", b"\r\n", b"\t",
             b"\x7f", b"\xef\xbb\xbf", b"\x01", b'"', b"{", b"}", b"(", b";", b"/*", b"*/", b"//", b"\\", b"\n"]

TOKEN_RE = re.compile(rb'//[^\n]*|/\*.*?\*/|"[^"\n]*"|0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*|[A-Za-z_][A-Za-z0-9_]*'
                      rb'|->|\+\+|--|<<=|>>=|[-+|&^]=|&&|\|\||==|!=|<=|>=|<<|>>|\s+|.', re.S)

ODD_NUMERALS = ["0", "1", "2", "7", "255", "256", "65535", "65536", "65537", "4294967296", "18446744073709551616",
                "99999999999999999999999999999999", "0x0", "0xFFFF", "0x10000", "0xFFFFFFFFFFFFFFFFFFFFFFFF",
                "00", "007", "1UL", "0xFFul", "1uuLL", "-1", "-0", "-65537", "1_0", "\u0967", "0x", "9" * 300]

KEYWORDS = ["include", "const", "param", "bound", "width", "refcounted", "struct", "object", "shared", "ghost",
            "word", "int", "bool", "long", "unsigned", "proc", "void", "thread", "current", "common_path", "given",
            "if", "else", "while", "do", "for", "break", "continue", "return", "atomic", "NULL", "true", "false"]
BUILTINS = ["READ_ONCE", "WRITE_ONCE", "rcu_dereference", "atomic_read", "atomic_set", "xchg", "cmpxchg",
            "try_cmpxchg", "set_bit", "clear_bit", "test_and_set_bit", "test_and_clear_bit", "atomic_inc",
            "atomic_dec", "atomic_add", "atomic_sub", "atomic_dec_and_test", "atomic_inc_not_zero", "get", "put",
            "tryget", "tryget_live", "kill", "refcount", "spin_lock", "spin_unlock", "rcu_read_lock",
            "rcu_read_unlock", "assert", "lost_update", "assume", "await", "nondet", "likely", "unlikely"]
PUNCT = ["{", "}", "(", ")", "[", "]", ";", ",", "=", "*", "&", "->", ".", "!", "~", "?", ":", "+", "-", "<<",
         "++", "|=", '"x"', '""', "/*", "//"]


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return rng.choice(ODD_BYTES)
    i = rng.randrange(len(data) + 1)
    op = rng.randrange(5)
    if op == 0 and i < len(data):          # flip one bit
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    if op == 1:                           # insert an odd byte sequence
        return data[:i] + rng.choice(ODD_BYTES) * rng.choice((1, 1, 2, 3)) + data[i:]
    if op == 2:                           # insert a random byte
        return data[:i] + bytes([rng.randrange(256)]) + data[i:]
    if op == 3:                           # delete a few bytes
        return data[:i] + data[i + rng.randint(1, 8):]
    return data[:i]                       # truncate


def tokens(data: bytes) -> list[bytes]:
    return TOKEN_RE.findall(data)


def mutate_tokens(rng: random.Random, data: bytes) -> bytes:
    toks = tokens(data)
    solid = [i for i, t in enumerate(toks) if not t.isspace()]
    if not solid:
        return data + rng.choice(PUNCT).encode()
    i = rng.choice(solid)
    names = [t for t in toks if re.fullmatch(rb"[A-Za-z_][A-Za-z0-9_]*", t)]
    op = rng.randrange(7)
    if op == 0:
        toks[i] = b""
    elif op == 1:
        toks[i] = toks[i] + b" " + toks[i]
    elif op == 2:
        j = rng.choice(solid)
        toks[i], toks[j] = toks[j], toks[i]
    elif op == 3:   # a number: replace it (or the token) with an odd numeral
        numbers = [k for k in solid if toks[k][:1].isdigit()]
        toks[rng.choice(numbers) if numbers else i] = rng.choice(ODD_NUMERALS).encode()
    elif op == 4:   # an identifier: another one of the file, a keyword, a builtin or a new one
        idents = [k for k in solid if re.fullmatch(rb"[A-Za-z_][A-Za-z0-9_]*", toks[k])]
        k = rng.choice(idents) if idents else i
        pool = rng.choice([names or [b"x"], KEYWORDS, BUILTINS, ["fuzz_name", "S", "_", "x" * 200]])
        new = rng.choice(pool)
        toks[k] = new if isinstance(new, bytes) else new.encode()
    elif op == 5:   # insert a token
        toks.insert(i, rng.choice(PUNCT + KEYWORDS + BUILTINS).encode() + b" ")
    else:           # delete a run of tokens
        del toks[i:i + rng.randint(2, 12)]
    return b"".join(toks)


def mutate_lines(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    op = rng.randrange(5)
    if op == 0:
        del lines[i]
    elif op == 1:
        lines.insert(i, lines[i])
    elif op == 2:
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3:
        lines.insert(j, lines.pop(i))
    else:
        del lines[i:i + rng.randint(2, 6)]
    return b"\n".join(lines)


MUTATORS = {"byte": mutate_bytes, "token": mutate_tokens, "line": mutate_lines}


def mutated_case(rng: random.Random, models: dict[str, bytes], family: str) -> Case:
    target = rng.choice(sorted(models))
    main = rng.choice(designs(models)) if target == HARNESS else target
    data = models[target]
    count = rng.choice((1, 1, 1, 2, 3))
    for _ in range(count):
        data = MUTATORS[family](rng, data)
    files = {Path(main).name: models[main]}
    if main in designs(models):
        files[HARNESS] = models[HARNESS]
    subject = HARNESS if target == HARNESS else Path(main).name
    files[subject] = data
    mode = pick_mode(rng, (60, 15, 15, 10))
    return Case(family, f"{target} ({count} {family} mutation{'s' * (count > 1)})", files,
                command(mode, Path(main).name, rng), subject)


# ---- the grammar-based generator ------------------------------------------------------------


class _Program:
    """A small program from grammar/objcg.lark's constructs. Statements follow the atomicity
    rule (one shared access each, outside `atomic`), so most programs resolve; a few draws are
    wrong on purpose (an undeclared name, an odd numeral, a missing field)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.consts: list[str] = []
        self.objects: list[str] = []
        self.procs: list[tuple[str, int, bool]] = []   # name, arity, returns a value
        self.locals = 0

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def number(self) -> str:
        if self.chance(0.03):
            return self.rng.choice(ODD_NUMERALS[:22])
        return str(self.rng.choice((0, 1, 1, 2, 3, 0x10, 255)))

    def oops(self, name: str) -> str:
        """Now and then a name that is not declared, or not of the right kind."""
        return self.rng.choice(("undeclared", "S", "current", "o9", "arr")) if self.chance(0.02) else name

    # -- expressions
    def pure(self, scope: list[str], depth: int) -> str:
        """No shared access: numbers, constants, locals, nondet, operators."""
        k = self.rng.randrange(8 if depth > 0 else 3)
        if k == 0 or (k == 1 and not scope):
            return self.rng.choice([self.number()] * 3 + self.consts)
        if k == 1:
            return self.oops(self.rng.choice(scope))
        if k == 2:
            return self.rng.choice(("nondet(2)", "nondet(3)", "true", "false", "nondet()"))
        d = depth - 1
        if k <= 4:
            op = self.rng.choice(("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">",
                                  ">=", "&&", "||"))
            return f"({self.pure(scope, d)} {op} {self.pure(scope, d)})"
        if k == 5:
            return f"{self.rng.choice('!~-+')}{self.pure(scope, d)}"
        if k == 6:
            return f"({self.pure(scope, d)} ? {self.pure(scope, d)} : {self.pure(scope, d)})"
        return f"({self.rng.choice(('word', 'unsigned long', 'int'))}){self.pure(scope, d)}"

    def obj(self) -> str:
        return self.oops(self.rng.choice(self.objects)) if self.objects else "NULL"

    def loc(self, scope: list[str]) -> str:
        """A shared word location."""
        index = self.rng.choice(["0", "1", "0", self.pure(scope, 0)] + scope)
        opts = ["x", "y", f"arr[{index}]"] + [f"{self.obj()}.{self.oops('data')}"] * bool(self.objects)
        return self.oops(self.rng.choice(opts))

    def access(self, scope: list[str]) -> str:
        """One shared access."""
        form = self.rng.choice(("{l}", "READ_ONCE({l})", "atomic_read(&{l})", "xchg(&{l}, {e})",
                                "cmpxchg(&{l}, {e}, {e})", "test_and_set_bit(1, &{l})", "atomic_dec_and_test(&{l})",
                                "atomic_inc_not_zero(&{l})", "tryget(&{o})", "refcount(&{o})", "tryget_live(&{o})",
                                "(ptr == &{o})", "(rcu_dereference(ptr) != NULL)"))
        if ("{o}" in form or "ptr" in form) and not self.objects:
            form = "{l}"
        return form.format(l=self.loc(scope), e=self.pure(scope, 0), o=self.obj())

    def one(self, scope: list[str]) -> str:
        """At most one shared access."""
        k = self.rng.randrange(4)
        if k == 0:
            return self.pure(scope, 2)
        if k == 1:
            return self.access(scope)
        return f"({self.access(scope)} {self.rng.choice(('+', '&', '==', '!=', '||'))} {self.pure(scope, 1)})"

    # -- statements
    def stmt(self, scope: list[str], depth: int, loop: bool, atomic: bool, thread: bool) -> list[str]:
        k = self.rng.randrange(17 if depth > 0 and not atomic else 10)
        any_ = (lambda: self.access(scope) + " + " + self.access(scope)) if atomic else (lambda: self.one(scope))
        if k == 0:
            self.locals += 1
            name = f"l{self.locals}"
            text = f"word {name} = {any_()};" if self.chance(0.8) else f"word {name};"
            scope.append(name)
            return [text]
        if k == 1:
            return [f"{self.loc(scope)} = {self.pure(scope, 1)};"]
        if k == 2 and scope:
            v = self.rng.choice(scope)
            return [self.rng.choice((f"{v} = {any_()};", f"{v} {self.rng.choice(('+=', '|=', '>>=', '^=', '-='))} "
                                     f"{self.pure(scope, 1)};", f"{v}{self.rng.choice(('++', '--'))};"))]
        if k == 3:
            label = ', "' + self.rng.choice(("ok", "lab", "x y", "<&>", "a\x01b")) + '"' if self.chance(0.5) else ""
            what = self.rng.choice(("assert", "lost_update", "assume") + ("await",) * (not atomic))
            return [f"{what}({self.one(scope)}{label if what in ('assert', 'lost_update') else ''});"]
        if k == 4:
            call = self.rng.choice(("WRITE_ONCE({l}, {e})", "atomic_set(&{l}, {e})", "set_bit(0, &{l})",
                                    "clear_bit(1, &{l})", "atomic_inc(&{l})", "atomic_dec(&{l})", "atomic_add(2, &{l})",
                                    "atomic_sub({e}, &{l})", "get(&{o})", "put(&{o})", "kill(&{o})", "spin_lock(&{l})",
                                    "spin_unlock(&{l})", "rcu_read_lock()", "rcu_read_unlock()", "ptr = &{o}",
                                    "ptr = NULL"))
            if "{o}" in call and not self.objects:
                call = "atomic_inc(&{l})"
            return [call.format(l=self.loc(scope), e=self.pure(scope, 0), o=self.obj()) + ";"]
        if k == 5 and loop and not atomic:
            return [self.rng.choice(("break;", "continue;"))]
        if k in (6, 7) and self.procs and not atomic:
            name, arity, value = self.rng.choice(self.procs)
            call = f"{self.oops(name)}({', '.join(self.pure(scope, 0) for _ in range(arity))})"
            if value:
                self.locals += 1
                scope.append(f"l{self.locals}")
                return [f"word l{self.locals} = {call};"]
            return [call + ";"]
        if k == 8:
            return [";"]
        if k == 9:
            return ["{", *self.block(list(scope), depth - 1, loop, atomic, thread), "}"]
        inner = lambda lp, at=False: self.block(list(scope), depth - 1, lp, at, thread)  # noqa: E731
        if k == 10:
            out = [f"if ({self.one(scope)}) {{", *inner(loop), "}"]
            return out + ["else {", *inner(loop), "}"] if self.chance(0.5) else out
        if k == 11:
            return [f"while ({self.one(scope)}) {{", *inner(True), "}"]
        if k == 12:
            return ["do {", *inner(True), f"}} while ({self.one(scope)});"]
        if k == 13:
            self.locals += 1
            i = f"i{self.locals}"
            return [f"for (word {i} = 0; {i} < {self.rng.randint(0, 3)}; {i}++) {{", *inner(True), "}"]
        if k == 14:
            return ["atomic {", *inner(False, True), "}"]
        if k >= 15:
            return ["return;" if thread else f"return {self.pure(scope, 1)};"]
        return [f"{self.loc(scope)} = {self.pure(scope, 0)};"]

    def block(self, scope: list[str], depth: int, loop: bool, atomic: bool, thread: bool) -> list[str]:
        out: list[str] = []
        for _ in range(self.rng.randint(0, 4)):
            out += ["    " + line for line in self.stmt(scope, depth, loop, atomic, thread)]
        return out

    def text(self) -> str:
        rng = self.rng
        out = [f"width {rng.choice((8, 8, 16, 64))};", f"bound {rng.choice((1, 1, 2))};"]
        if self.chance(0.4):
            out.append(f"param N = {self.number()};")
            self.consts.append("N")
        if self.chance(0.3):
            out.append(f"const C = ({self.number()} {self.rng.choice('+|<<')} {self.rng.choice(self.consts or ['1'])});")
            self.consts.append("C")
        out.append(f"shared word x = 0, y = {self.number()};")
        out.append(f"shared word arr[{rng.choice(('2', '2', '2', '3', *self.consts))}];")
        if self.chance(0.6):
            out.append(f"{'refcounted ' if self.chance(0.9) else ''}struct obj {{ word data; struct obj *next; "
                       "const struct obj *peer; };")
            count = rng.randint(1, 2)
            if self.chance(0.5):
                out.append(f"object struct obj o[{count}];")
                self.objects = [f"o[{i}]" for i in range(count)]
            else:
                self.objects = [f"o{i}" for i in range(count)]
                out.append("object struct obj " + ", ".join(f"{o} = {{ .data = {i} }}" for i, o in enumerate(self.objects)) + ";")
        if self.objects:
            out.append("shared struct obj *ptr = NULL;")
        for p in range(rng.randint(0, 2)):
            arity, value = rng.randint(0, 2), self.chance(0.5)
            params = ", ".join(f"word a{n}" for n in range(arity)) or "void"
            body = self.block([f"a{n}" for n in range(arity)], 1, False, False, not value)
            if value:
                body.append(f"    return {self.pure([], 1)};")
            out += [f"proc {'word' if value else 'void'} f{p}({params}) {{", *body, "}"]
            self.procs.append((f"f{p}", arity, value))
        for t in range(rng.randint(1, 3)):
            out += [f"thread T{t} {{", *self.block([], 2, False, False, True), "}"]
        return "\n".join(out) + "\n"


def grammar_case(rng: random.Random) -> Case:
    text = _Program(rng).text().encode()
    mode = pick_mode(rng, (20, 50, 15, 15))
    return Case("grammar", "grammar-based program", {"main.dsl": text}, command(mode, "main.dsl", rng), "main.dsl")


# ---- the cache and the ledger ---------------------------------------------------------------

GATE_MODEL = "models/examples/counter.dsl"


def gate_command(rng: random.Random) -> tuple[list[str], tuple[str, ...]]:
    argv = ["check", "--ledger", "proofs", "--cache-dir", "cache", "--timeout", "2", "--junit", "out.xml",
            "--sarif", "out.sarif", GATE_MODEL]
    if rng.random() < 0.3:
        argv.insert(1, "--json")
    return argv, ("out.xml", "out.sarif")


def gate_case(rng: random.Random, gate_files: dict[str, bytes]) -> Case:
    """counter.dsl's ledger record or cache entry (or the model) mutated; `check` on it."""
    files = dict(gate_files)
    target = rng.choice(sorted(name for name in files if name.endswith(".json")) + [GATE_MODEL])
    family = rng.choice(("byte", "token", "line"))
    data = files[target]
    for _ in range(rng.choice((1, 1, 2))):
        data = MUTATORS[family](rng, data)
    files[target] = data
    argv, outputs = gate_command(rng)
    return Case("gate", f"{target} ({family} mutation)", files, argv, target, outputs=outputs)


# ---- one case of a run ----------------------------------------------------------------------

FAMILIES = ("byte", "token", "line", "grammar", "gate")
WEIGHTS = (25, 30, 20, 20, 5)


def case(seed: int, index: int, models: dict[str, bytes], gate_files: dict[str, bytes] | None) -> Case:
    """Case `index` of the run with `seed`: the same on every machine."""
    rng = random.Random(f"objcg-fuzz:{seed}:{index}")
    family = rng.choices(FAMILIES, WEIGHTS)[0]
    if family == "gate":
        if gate_files:
            return gate_case(rng, gate_files)
        family = "token"
    if family == "grammar":
        return grammar_case(rng)
    return mutated_case(rng, models, family)


# ---- the hand-written odd programs (issue 8) -------------------------------------------------


def _odd(origin: str, text: bytes | str, argv: list[str] | None = None, **extra: object) -> Case:
    data = text.encode() if isinstance(text, str) else text
    files = {"main.dsl": data}
    files.update(extra.pop("files", {}))  # type: ignore[arg-type]
    return Case("odd", origin, files, argv or ["--timeout", "2", "-k", "1", "main.dsl"], "main.dsl", **extra)  # type: ignore[arg-type]


SMALL = "shared word x = 0;\nthread A { x = 1; }\n"


def odd_cases(slow: bool = False) -> list[Case]:
    """The reproducers of issue 8 that fit this oracle. `slow`: also the pathological sizes,
    which take the whole per-input time limit until unrolling and the front end are bounded."""
    chain = "".join(f"proc void p{i}(void) {{ p{i + 1}(); }}\n" for i in range(1000)) + "proc void p1000(void) { ; }\n"
    v2 = MODELS / "objcg_v2.dsl"
    design = {"objcg_v2.dsl": v2.read_bytes(), HARNESS: narrow_harness()}
    with_v2 = lambda origin, *opts: Case("odd", origin, dict(design), [*opts, "objcg_v2.dsl"], "objcg_v2.dsl",  # noqa: E731
                                         expect_status=2 if "-D" in opts else None)
    cases = [
        _odd("undeclared struct through ->", "shared struct S *p;\nthread A { word x = p->f; }\n"),
        _odd("600 terms", "shared word x = 0;\nthread A { x = " + " + ".join(["1"] * 600) + "; }\n"),
        _odd("600 nested blocks", "shared word x = 0;\nthread A " + "{" * 600 + " x = 1; " + "}" * 600 + "\n"),
        _odd("1,000 '!'", "shared word x = 0;\nthread A { x = " + "!" * 1000 + "1; }\n"),
        _odd("1,000 casts", "shared word x = 0;\nthread A { x = " + "(word)" * 1000 + "1; }\n"),
        _odd("600 parentheses", "shared word x = 0;\nthread A { x = " + "(" * 600 + "1" + ")" * 600 + "; }\n"),
        _odd("1,000 procedures in a chain", chain + "shared word x = 0;\nthread A { p0(); }\n"),
        _odd("include of a null-byte name", b'include "a\x00b";\n' + SMALL.encode()),
        _odd("include of /dev/null", 'include "/dev/null";\n' + SMALL),
        _odd("include of a directory", 'include "sub";\n' + SMALL, files={"sub/keep.dsl": b""}),
        _odd("include of itself", 'include "main.dsl";\n' + SMALL),
        _odd("include of a symlink loop", 'include "loop1.dsl";\n' + SMALL, links={"loop1.dsl": "loop2.dsl",
                                                                                    "loop2.dsl": "loop1.dsl"}),
        _odd("include of a non-UTF-8 file", 'include "bad.dsl";\n' + SMALL, files={"bad.dsl": b"shared word \xff;\n"}),
        _odd("non-UTF-8 byte on line 2", b"shared word x = 0;\nthread A { x = \xff1; }\n"),
        _odd("form feed before an error", "shared word x = 0;\f\fthread A { x = ; }\n"),
        _odd("U+2028 before an error", "shared word x = 0;\u2028\u2028thread A { x = ; }\n"),
        _odd("empty file", b""),
        _odd("only a comment", "// nothing\n"),
        _odd("unterminated block comment", "shared word x = 0; /* \n"),
        _odd("huge param", "param N = 99999999999999999999999;\nshared word x = N;\nthread A { x = N; }\n"),
        _odd("huge hex constant", "const C = 0xFFFFFFFFFFFFFFFFFFFFFFFF;\nshared word x = C;\nthread A { x = C; }\n"),
        _odd("huge array", "shared word a[99999999999];\nthread A { a[0] = 1; }\n"),
        _odd("negative array size", "shared word a[0 - 1];\nthread A { a[0] = 1; }\n"),
        _odd("width 0", "width 0;\n" + SMALL),
        _odd("width 100000", "width 100000;\n" + SMALL),
        _odd("bound 0", "bound 0;\n" + SMALL),
        _odd("huge shift", "shared word x = 0;\nthread A { x = 1 << 99999999999; }\n"),
        _odd("division by zero", "shared word x = 0;\nconst C = 1 / 0;\nthread A { x = 1 % 0; }\n"),
        _odd("JUnit label with control characters", 'shared word x = 0;\nthread A { x = 1; assert(x == 0, "lab\x01\x0b<]]>&"); }\n',
             ["check", "--no-cache", "--ledger", "proofs", "--junit", "out.xml", "--sarif", "out.sarif", "main.dsl"],
             outputs=("out.xml", "out.sarif"), setup=(("prove", "--record", "--ledger", "proofs", "main.dsl"),)),
        with_v2("-D ALLOCS=65537", "-D", "ALLOCS=65537"),
        with_v2("-D ALLOCS=-1", "-D", "ALLOCS=-1"),
        with_v2("-D ALLOCS=1_0", "-D", "ALLOCS=1_0"),
        with_v2("-D with a Devanagari digit", "-D", "ALLOCS=\u0967"),
        with_v2("-D with a 30-digit value", "-D", "ALLOCS=999999999999999999999999999999", "-p", NO_PROPERTY),
    ]
    for value in ("inf", "nan", "1e400"):
        cases.append(_odd(f"--timeout {value}", SMALL, ["--timeout", value, "main.dsl"], expect_status=2))
    nested = "[" * 100000 + "]" * 100000
    cases.append(Case("odd", "a ledger record of 100,000 nested '['", {GATE_MODEL: SMALL.encode(),
                      "proofs/" + GATE_MODEL + ".json": nested.encode()},
                      ["check", "--no-cache", "--ledger", "proofs", GATE_MODEL], GATE_MODEL))
    if slow:
        cases += [
            _odd("include of /dev/zero", 'include "/dev/zero";\n' + SMALL),
            _odd("include of /dev/urandom", 'include "/dev/urandom";\n' + SMALL),
            _odd("include of a FIFO", 'include "fifo.dsl";\n' + SMALL, fifos=("fifo.dsl",)),
            _odd("two nested while (1)", "shared word x = 0;\nthread A { while (1) { while (1) { x = 1; } } }\n"),
            _odd("20 nested while (x)", "shared word x = 0;\nthread A { " + "while (x) { " * 20 + "x = 1; " + "} " * 20 + "}\n"),
            _odd("1,000 threads", "shared word x = 0;\n" + "".join(f"thread T{i} {{ x = {i % 7}; }}\n" for i in range(1000))),
            _odd("20,000 statements", "shared word x = 0;\nthread A {\n" + "    x = 1;\n" * 20000 + "}\n"),
            _odd("10,000 locals", "shared word x = 0;\nthread A {\n" + "".join(f"    word l{i} = {i % 3};\n" for i in range(10000)) + "}\n"),
        ]
    return cases
