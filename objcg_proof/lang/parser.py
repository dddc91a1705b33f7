"""Parse stage: model text -> `syntax.Module`, with `include`s expanded in place.

Input: a path (or text). Output: a `syntax.Module` whose declarations come from the file and
everything it includes, each node with its span. Errors: `UserError` with file:line:column,
what was expected and a caret; lark's exceptions never leave this module. Files are read with
`diagnostics.read_source` (regular files of at most 16 MiB); nesting is limited and the tree
is built without recursion (NOTE(nesting)).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import syntax as s
from .grammar_cache import load_or_build
from .diagnostics import Diagnostic, SourceCache, SourceFile, SourceUnreadable, Span, UserError, error, printable, read_source
from .reuse import IncludeGraph, apply_reuse

GRAMMAR_FILE = "objcg.lark"
MAX_INCLUDE_DEPTH = 32   # files including files including files ...

# NOTE(nesting): every stage after the parser walks the program recursively (resolve, unroll,
# the interpreter, the Promela exporter), so the parser admits no deeper nesting than they all
# cope with: MAX_NESTING levels of the parse tree (a block, a statement, an operator, a cast,
# a call each open one), counted from the top of the file. Deeper is an error at the place
# where the limit is crossed, before anything recurses. A long flat chain of one associative
# operator (`1 + 1 + ... + 1`, `a || b || ...`) is not deep nesting: from REBALANCE_AT operands
# on it is regrouped into a balanced tree, same operands in the same order (left-to-right
# evaluation and && / || short-circuits unchanged; + * & | ^ && || are associative, also
# modulo 2^width), so its depth grows with the logarithm of its length.
MAX_NESTING = 200
REBALANCE_AT = 16
MIRROR_STATES = ("merged", "unmerged", "reconstructed")   # of a `mirrors` declaration (lang/syntax.py MirrorsDecl)
MAX_NUMBER_DIGITS = 40   # a 64-bit word needs at most 22 octal digits
_ASSOCIATIVE = frozenset({"+", "*", "&", "|", "^", "&&", "||"})


def grammar_text() -> str:
    """The grammar shipped inside the package (objcg_proof/lang/grammar is grammar/ at the top)."""
    return resources.files("objcg_proof.lang").joinpath("grammar", GRAMMAR_FILE).read_text(encoding="utf-8")


LARK_OPTIONS = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    return build_lark(grammar_text())


def build_lark(text: str) -> lark.Lark:
    """lark's parser for `text`, its tables loaded from the grammar cache when they are there
    (lang/grammar_cache.py: building them is ~0.15 s of every process)."""
    key = "\0".join([text, repr(sorted(LARK_OPTIONS.items())), lark.__version__])
    return load_or_build(key, lambda: lark.Lark(text, **LARK_OPTIONS), lark.Lark.load, lambda p, f: p.save(f))


_TOKEN_WORDS = {
    "SEMICOLON": "';'", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'",
    "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "EQUAL": "'='", "NAME": "a name",
    "NUMBER": "a number", "STRING": "a string", "STAR": "'*'", "DOT": "'.'", "COLON": "':'",
    "QMARK": "'?'", "MORETHAN": "'>'", "LESSTHAN": "'<'", "$END": "end of file",
}


def _describe_expected(expected: set[str], parser: lark.Lark | None = None, token_words: dict[str, str] = _TOKEN_WORDS) -> str:
    words = []
    for name in sorted(expected):
        if name in token_words:
            words.append(token_words[name])
        elif name.isupper() and name.startswith("__ANON"):
            continue
        else:
            try:
                pattern = (parser or _lark()).get_terminal(name).pattern
                if pattern.type == "str":
                    words.append(repr(pattern.value))
                else:
                    words.append(name.lower())
            except KeyError:
                words.append(name.lower())
    words = sorted(set(words))
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


class SpannedTransformer(Transformer[Token, Any]):
    """A lark Transformer that knows its file and gives spans: of a rule's node (from
    propagate_positions) and of a token. The DSL's builder and lang/litmus_parser.py's share it."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, tok: Token) -> Span:
        end_col = (tok.end_column or tok.column or 0)
        return Span(self.file, tok.line or 0, tok.column or 0, tok.end_line or tok.line or 0, end_col)


class _Builder(SpannedTransformer):
    """lark tree -> syntax nodes. Positions come from propagate_positions."""

    def _pointer_type(self, base: s.TypeRef, stars: list[Any]) -> s.TypeRef:
        """`base` with its `*`s: a pointer, or a pointer to a pointer; a third `*` is refused."""
        if len(stars) > 2:
            raise error(self._tspan(stars[2]), "a pointer to a pointer to a pointer is not supported: at most 'struct S **'")
        return s.TypeRef(base.struct_name, bool(stars), base.span, len(stars) == 2)

    # -- top level
    def start(self, items: list[Any]) -> list[Any]:
        return items

    @v_args(meta=True)
    def include(self, meta: Any, c: list[Any]) -> s.Include:
        return s.Include(str(c[0])[1:-1], self._span(meta))

    @v_args(meta=True)
    def const_decl(self, meta: Any, c: list[Any]) -> s.ConstDecl:
        return s.ConstDecl(str(c[0]), c[1], False, self._span(meta))

    @v_args(meta=True)
    def param_decl(self, meta: Any, c: list[Any]) -> s.ConstDecl:
        return s.ConstDecl(str(c[0]), c[1], True, self._span(meta))

    @v_args(meta=True)
    def bound_decl(self, meta: Any, c: list[Any]) -> s.BoundDecl:
        return s.BoundDecl(c[0], self._span(meta))

    @v_args(meta=True)
    def width_decl(self, meta: Any, c: list[Any]) -> s.WidthDecl:
        return s.WidthDecl(c[0], self._span(meta))

    @v_args(meta=True)
    def memory_model_decl(self, meta: Any, c: list[Any]) -> s.MemoryModelDecl:
        return s.MemoryModelDecl(str(c[0]), self._span(meta))

    @v_args(meta=True)
    def mirrors_decl(self, meta: Any, c: list[Any]) -> s.MirrorsDecl:
        state = next((t for t in c[1:] if isinstance(t, Token) and t.type == "NAME"), None)
        if state is not None and str(state) not in MIRROR_STATES:
            raise error(self._tspan(state), f"unknown mirror state '{state}': expected "
                                            f"{' or '.join(MIRROR_STATES[1:])}, or nothing (merged)")
        items = tuple(i for i in c if isinstance(i, s.MirrorItem))
        return s.MirrorsDecl(str(c[0])[1:-1], str(state) if state is not None else "merged", items, self._span(meta),
                             self._tspan(state) if state is not None else self._span(meta))

    @v_args(meta=True)
    def mirror_item(self, meta: Any, c: list[Any]) -> s.MirrorItem:
        return s.MirrorItem(str(c[0]), str(c[-1]), self._span(meta))

    @v_args(meta=True)
    def struct_decl(self, meta: Any, c: list[Any]) -> s.StructDecl:
        refcounted = bool(c) and isinstance(c[0], Token) and c[0].type == "REFCOUNTED"
        rest = c[1:] if refcounted else c
        return s.StructDecl(str(rest[0]), refcounted, tuple(rest[1:]), self._span(meta))

    def _field(self, meta: Any, c: list[Any], const: bool) -> s.FieldDecl:
        base: s.TypeRef = c[0]
        size = None
        if isinstance(c[-1], tuple) and c[-1][0] == "size":
            size = c[-1][1]
            c = c[:-1]
        name = c[-1]
        return s.FieldDecl(str(name), self._pointer_type(base, c[1:-1]), const, self._span(meta), size)

    @v_args(meta=True)
    def const_field(self, meta: Any, c: list[Any]) -> s.FieldDecl:
        return self._field(meta, c, True)

    @v_args(meta=True)
    def field(self, meta: Any, c: list[Any]) -> s.FieldDecl:
        return self._field(meta, c, False)

    @v_args(meta=True)
    def word_type(self, meta: Any, c: list[Any]) -> s.TypeRef:
        return s.TypeRef(None, False, self._span(meta))

    @v_args(meta=True)
    def struct_type(self, meta: Any, c: list[Any]) -> s.TypeRef:
        return s.TypeRef(str(c[0]), False, self._span(meta))

    @v_args(meta=True)
    def object_decl(self, meta: Any, c: list[Any]) -> list[s.ObjectDecl]:
        struct = str(c[0])
        return [s.ObjectDecl(struct, name, size, inits, span, elements) for (name, size, inits, elements, span) in c[1:]]

    @v_args(meta=True)
    def object_declarator(self, meta: Any, c: list[Any]) -> tuple[str, Any, tuple[s.FieldInit, ...], tuple[s.ElementInit, ...], Span]:
        name = str(c[0])
        size = None
        inits: tuple[s.FieldInit, ...] = ()
        elements: tuple[s.ElementInit, ...] = ()
        for part in c[1:]:
            if isinstance(part, tuple) and part and part[0] == "size":
                size = part[1]
            elif isinstance(part, list):
                elements = tuple(part)
            elif isinstance(part, tuple):
                inits = part
        return (name, size, inits, elements, self._tspan(c[0]))

    def element_inits(self, c: list[Any]) -> list[s.ElementInit]:
        return [x for x in c if isinstance(x, s.ElementInit)]

    @v_args(meta=True)
    def element_init(self, meta: Any, c: list[Any]) -> s.ElementInit:
        return s.ElementInit(c[0], c[1], self._span(meta))

    def record_init(self, c: list[Any]) -> tuple[s.FieldInit, ...]:
        return tuple(x for x in c if isinstance(x, s.FieldInit))

    @v_args(meta=True)
    def field_init(self, meta: Any, c: list[Any]) -> s.FieldInit:
        value = c[1][1] if isinstance(c[1], tuple) and c[1] and c[1][0] == "array" else c[1]
        return s.FieldInit(str(c[0]), value, self._span(meta))

    def array_size(self, c: list[Any]) -> tuple[str, Any]:
        return ("size", c[0])

    def array_init(self, c: list[Any]) -> tuple[str, tuple[Any, ...]]:
        return ("array", tuple(c))

    @v_args(meta=True)
    def declarator(self, meta: Any, c: list[Any]) -> tuple[list[Token], str, Any, Any, Span]:
        stars = [x for x in c if isinstance(x, Token) and x.type == "STAR"]
        rest = c[len(stars):]
        name_tok = rest[0]
        size = None
        init: Any = None
        for part in rest[1:]:
            if isinstance(part, tuple) and part[0] == "size":
                size = part[1]
            elif isinstance(part, tuple) and part[0] == "array":
                init = part[1]
            else:
                init = part
        return (stars, str(name_tok), size, init, self._tspan(name_tok))

    @v_args(meta=True)
    def shared_decl(self, meta: Any, c: list[Any]) -> list[s.SharedDecl]:
        ghost = str(c[0]) == "ghost"
        base: s.TypeRef = c[1]
        out = []
        for stars, name, size, init, span in c[2:]:
            out.append(s.SharedDecl(name, self._pointer_type(base, stars), ghost, size, init, span))
        return out

    @v_args(meta=True)
    def proc_decl(self, meta: Any, c: list[Any]) -> s.ProcDecl:
        returns, name, params, body = c
        return s.ProcDecl(str(name), returns, tuple(params), body, self._span(meta))

    def void_return(self, c: list[Any]) -> None:
        return None

    def value_return(self, c: list[Any]) -> s.TypeRef:
        return self._pointer_type(c[0], c[1:])

    def no_params(self, c: list[Any]) -> list[s.Param]:
        return []

    def params(self, c: list[Any]) -> list[s.Param]:
        return list(c)

    @v_args(meta=True)
    def param(self, meta: Any, c: list[Any]) -> s.Param:
        base: s.TypeRef = c[0]
        return s.Param(str(c[-1]), self._pointer_type(base, c[1:-1]), self._span(meta))

    @v_args(meta=True)
    def thread_decl(self, meta: Any, c: list[Any]) -> s.ThreadDecl:
        name = str(c[0])
        current = c[1] if len(c) == 3 else None
        return s.ThreadDecl(name, current, c[-1], self._span(meta))

    @v_args(meta=True)
    def common_path_decl(self, meta: Any, c: list[Any]) -> s.CommonPathDecl:
        current = c[1] if len(c) == 4 else None
        return s.CommonPathDecl(str(c[0]), current, c[-2], c[-1], self._span(meta))

    @v_args(meta=True)
    def final_decl(self, meta: Any, c: list[Any]) -> s.FinalDecl:
        return s.FinalDecl(c[-1], self._span(meta))

    @v_args(meta=True)
    def replace_decl(self, meta: Any, c: list[Any]) -> list[s.Replace]:
        decls = c[0] if isinstance(c[0], list) else [c[0]]   # `replace object struct S a, b;` replaces both
        return [s.Replace(d, self._span(meta)) for d in decls]

    @v_args(meta=True)
    def extend_struct(self, meta: Any, c: list[Any]) -> s.ExtendStruct:
        return s.ExtendStruct(str(c[0]), tuple(c[1:]), self._span(meta))

    @v_args(meta=True)
    def extend_object(self, meta: Any, c: list[Any]) -> list[s.ExtendObject]:
        return [s.ExtendObject(d, self._span(meta)) for d in c[0]]

    # -- statements
    @v_args(meta=True)
    def block(self, meta: Any, c: list[Any]) -> s.Block:
        return s.Block(tuple(c), self._span(meta))

    @v_args(meta=True)
    def local_decl(self, meta: Any, c: list[Any]) -> s.LocalDecl:
        base: s.TypeRef = c[0]
        decls = []
        for stars, name, size, init, span in c[1:]:
            if isinstance(init, tuple) and size is None:
                raise error(span, "a brace initializer needs an array")
            decls.append(s.Declarator(name, self._pointer_type(base, stars), init, span, size))
        return s.LocalDecl(tuple(decls), self._span(meta))

    @v_args(meta=True)
    def if_stmt(self, meta: Any, c: list[Any]) -> s.If:
        return s.If(c[0], c[1], c[2] if len(c) > 2 else None, self._span(meta))

    @v_args(meta=True)
    def while_stmt(self, meta: Any, c: list[Any]) -> s.While:
        return s.While(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def do_stmt(self, meta: Any, c: list[Any]) -> s.DoWhile:
        return s.DoWhile(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def for_stmt(self, meta: Any, c: list[Any]) -> s.For:
        init, cond, step, body = c
        return s.For(init, cond, step, body, self._span(meta))

    @v_args(meta=True)
    def break_stmt(self, meta: Any, c: list[Any]) -> s.Break:
        return s.Break(self._span(meta))

    @v_args(meta=True)
    def continue_stmt(self, meta: Any, c: list[Any]) -> s.Continue:
        return s.Continue(self._span(meta))

    @v_args(meta=True)
    def return_stmt(self, meta: Any, c: list[Any]) -> s.Return:
        return s.Return(c[0] if c else None, self._span(meta))

    @v_args(meta=True)
    def atomic_stmt(self, meta: Any, c: list[Any]) -> s.Atomic:
        return s.Atomic(c[0], self._span(meta))

    @v_args(meta=True)
    def empty_stmt(self, meta: Any, c: list[Any]) -> s.Empty:
        return s.Empty(self._span(meta))

    @v_args(meta=True)
    def assign(self, meta: Any, c: list[Any]) -> s.Assign:
        return s.Assign(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def op_assign(self, meta: Any, c: list[Any]) -> s.Assign:
        span = self._span(meta)
        op = str(c[1])[:-1]
        return s.Assign(c[0], s.Binary(op, c[0], c[2], span), span)

    @v_args(meta=True)
    def incdec(self, meta: Any, c: list[Any]) -> s.Assign:
        span = self._span(meta)
        op = "+" if str(c[1]) == "++" else "-"
        return s.Assign(c[0], s.Binary(op, c[0], s.Num(1, span), span), span)

    @v_args(meta=True)
    def expr_stmt(self, meta: Any, c: list[Any]) -> s.ExprStmt:
        return s.ExprStmt(c[0], self._span(meta))

    # -- expressions
    @v_args(meta=True)
    def ternary(self, meta: Any, c: list[Any]) -> s.Ternary:
        return s.Ternary(c[0], c[1], c[2], self._span(meta))

    @v_args(meta=True)
    def binop(self, meta: Any, c: list[Any]) -> s.Binary:
        return s.Binary(str(c[1]), c[0], c[2], self._span(meta))

    @v_args(meta=True)
    def unop(self, meta: Any, c: list[Any]) -> s.Expr:
        op = str(c[0])
        if op == "+":
            return c[1]  # type: ignore[no-any-return]
        return s.Unary(op, c[1], self._span(meta))

    @v_args(meta=True)
    def address_of(self, meta: Any, c: list[Any]) -> s.AddressOf:
        return s.AddressOf(c[1], self._span(meta))

    @v_args(meta=True)
    def cast(self, meta: Any, c: list[Any]) -> s.Cast:
        return s.Cast(self._pointer_type(c[0], c[1:-1]), c[-1], self._span(meta))

    @v_args(meta=True)
    def deref(self, meta: Any, c: list[Any]) -> s.Deref:
        return s.Deref(c[1], self._span(meta))

    @v_args(meta=True)
    def field_access(self, meta: Any, c: list[Any]) -> s.FieldAccess:
        return s.FieldAccess(c[0], str(c[1]), self._span(meta))

    @v_args(meta=True)
    def arrow_access(self, meta: Any, c: list[Any]) -> s.ArrowAccess:
        return s.ArrowAccess(c[0], str(c[1]), self._span(meta))

    @v_args(meta=True)
    def index(self, meta: Any, c: list[Any]) -> s.Index:
        return s.Index(c[0], c[1], self._span(meta))

    @v_args(meta=True)
    def call(self, meta: Any, c: list[Any]) -> s.Call:
        return s.Call(str(c[0]), tuple(x for x in c[1:] if x is not None), self._span(meta))

    def number(self, c: list[Any]) -> s.Num:
        tok = c[0]
        text = str(tok).rstrip("uUlL")
        if len(text) > MAX_NUMBER_DIGITS:  # no word holds it (and int() refuses 4,300 digits)
            raise error(self._tspan(tok), f"the number {text[:12]}... has {len(text)} digits: no word holds it")
        octal = len(text) > 1 and text[0] == "0" and text[1] not in "xX"
        try:
            value = int(text, 8) if octal else int(text, 0)
        except ValueError:  # 08, 099: a leading 0 makes a C literal octal
            raise error(self._tspan(tok), f"invalid number '{tok}': a number with a leading 0 is octal (digits 0-7)") from None
        return s.Num(value, self._tspan(tok))

    @v_args(meta=True)
    def null(self, meta: Any, c: list[Any]) -> s.Null:
        return s.Null(self._span(meta))

    @v_args(meta=True)
    def true(self, meta: Any, c: list[Any]) -> s.Num:
        return s.Num(1, self._span(meta))

    @v_args(meta=True)
    def false(self, meta: Any, c: list[Any]) -> s.Num:
        return s.Num(0, self._span(meta))

    def string(self, c: list[Any]) -> s.Str:
        return s.Str(str(c[0])[1:-1], self._tspan(c[0]))

    def name(self, c: list[Any]) -> s.Name:
        return s.Name(str(c[0]), self._tspan(c[0]))


def parse_text(text: str, file: str) -> list[s.Decl | s.ReuseDecl]:
    """Parse one file's text (no include expansion)."""
    return list(_parsed(text, file))


@lru_cache(maxsize=16)
def _parsed(text: str, file: str) -> tuple[s.Decl | s.ReuseDecl, ...]:
    """parse_text, remembered for the last few texts: a run that verifies a model parses it again
    to replay its counterexamples (runner/batch.py). The declarations are frozen, so sharing them
    is safe; a text that does not parse raises every time."""
    if not text.strip():
        raise error(Span(file, 1, 1, 1, 2), "the model file is empty: expected a declaration (struct, object, shared, proc, thread ...)")
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(exc, text, file) from None
    builder = _Builder(file)
    try:
        items = transform(builder, tree, file)
    except VisitError as exc:
        if isinstance(exc.orig_exc, UserError):
            raise exc.orig_exc from None
        raise
    decls: list[s.Decl | s.ReuseDecl] = []
    for item in items:
        if isinstance(item, list):
            decls.extend(item)
        else:
            decls.append(item)
    return tuple(decls)


def transform(builder: Any, tree: Tree[Token], file: str) -> Any:
    """`builder.transform(tree)` without recursion (lark's Transformer recurses once per level
    of the tree), refusing nesting deeper than MAX_NESTING (NOTE(nesting)). `builder`: a
    Transformer with a `_span(meta)` method (this module's, or lang/litmus_parser.py's)."""
    stack: list[tuple[Tree[Token], Any, list[Any]]] = [(tree, iter(tree.children), [])]
    while True:
        node, todo, done = stack[-1]
        for child in todo:
            if isinstance(child, Tree):
                child = _rebalance(child)
                if len(stack) >= MAX_NESTING:
                    where = builder._span(node.meta)   # the construct whose inside is too deep
                    raise error(Span(file, where.line, where.column, where.line, where.column + 1), f"nesting deeper than {MAX_NESTING} levels "
                                "(blocks, statements and operators inside one another)",
                                "split the expression or the block into smaller ones")
                stack.append((child, iter(child.children), []))
                break
            done.append(child)
        else:
            stack.pop()
            result = builder._call_userfunc(node, done)
            if not stack:
                return result
            stack[-1][2].append(result)


def _rebalance(tree: Tree[Token]) -> Tree[Token]:
    """A long left-leaning chain `x1 op x2 op ... op xn` of one associative operator, as a
    balanced tree of the same operands in the same order (NOTE(nesting)); others unchanged."""
    if tree.data != "binop" or str(tree.children[1]) not in _ASSOCIATIVE:
        return tree
    op = tree.children[1]
    operands = [tree.children[2]]
    left = tree.children[0]
    while isinstance(left, Tree) and left.data == "binop" and str(left.children[1]) == str(op):
        operands.append(left.children[2])
        left = left.children[0]
    if len(operands) + 1 < REBALANCE_AT:
        return tree
    operands.append(left)
    operands.reverse()
    return _balanced(operands, op)


def _balanced(operands: list[Any], op: Token) -> Any:
    if len(operands) == 1:
        return operands[0]
    mid = len(operands) // 2
    left, right = _balanced(operands[:mid], op), _balanced(operands[mid:], op)
    meta = Meta()
    first, last = _meta_of(left), _meta_of(right)
    meta.empty = False
    meta.line, meta.column, meta.start_pos = first.line, first.column, first.start_pos
    meta.end_line, meta.end_column, meta.end_pos = last.end_line, last.end_column, last.end_pos
    return Tree("binop", [left, op, right], meta)


def _meta_of(node: Any) -> Any:
    return node.meta if isinstance(node, Tree) else node   # a Token has line, column, end_... itself


def syntax_error(exc: UnexpectedInput, text: str, file: str, parser: lark.Lark | None = None,
                 token_words: dict[str, str] = _TOKEN_WORDS) -> UserError:
    """lark's exception as a diagnostic: where, what was found and what was expected (the names
    of `parser`'s terminals, default the DSL's, read as `token_words` says)."""
    line = getattr(exc, "line", 0) or 1
    column = getattr(exc, "column", 0) or 1
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            found = "end of file"
        else:
            found = repr(str(tok))
        expected = _describe_expected(set(exc.accepts or exc.expected), parser, token_words)
        msg = f"syntax error: unexpected {found}; expected {expected}"
        if tok.type == "$END":
            line, column = _end_of_text(text)
        elif str(tok) == "[" and text[:tok.start_pos].rstrip().endswith("]"):
            notes = ("arrays of arrays are not supported: declare one array per row, or an array of pointers to objects",)
            return UserError(Diagnostic(Span(file, line, column, line, column + 1), msg, notes))
    elif isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
        msg = f"syntax error: unexpected character {ch!r}"
        if exc.allowed:
            msg += f"; expected {_describe_expected(set(exc.allowed), parser, token_words)}"
    elif isinstance(exc, UnexpectedEOF):
        line, column = _end_of_text(text)
        msg = f"syntax error: unexpected end of file; expected {_describe_expected(set(exc.expected), parser, token_words)}"
    else:
        msg = "syntax error"
    return UserError(Diagnostic(Span(file, line, column, line, column + 1), msg))


def _end_of_text(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character (NOTE(lines) in diagnostics)."""
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1


def load_model(path: str, sources: SourceCache) -> s.Module:
    """Read a model file and everything it includes (paths relative to the including file),
    then apply its `replace` and `extend` declarations (reuse.py)."""
    includes = IncludeGraph()
    decls = _load(Path(path), path, sources, stack=(), seen={}, span=None, includes=includes)
    return s.Module(path, apply_reuse(decls, includes))


def _load(path: Path, shown: str, sources: SourceCache, stack: tuple[Path, ...], seen: dict[Path, str], span: Span | None,
          includes: IncludeGraph) -> list[s.Decl | s.ReuseDecl]:
    where = span or Span(shown, 0, 0)
    try:
        if sources.given is not None:   # NOTE(shipped-sources) in diagnostics.py
            data, resolved = _shipped(sources.given, shown)
        else:
            data, resolved = read_source(path), path.resolve()
    except SourceUnreadable as exc:
        raise error(where, f"cannot open '{printable(shown)}': {exc}") from None
    except (OSError, RuntimeError) as exc:  # resolve(): a symlink loop met on the way
        raise error(where, f"cannot open '{printable(shown)}': {exc}") from None
    sources.opened[shown] = str(resolved)
    text = decode_source(data, shown, sources)
    if resolved in stack:
        raise error(where, f"include cycle: '{printable(shown)}' includes itself")
    if len(stack) >= MAX_INCLUDE_DEPTH:
        raise error(where, f"includes nested more than {MAX_INCLUDE_DEPTH} deep")
    if stack:
        includes.add(seen[stack[-1]], seen.get(resolved, shown))
    if resolved in seen:
        return []  # included twice through different paths: once is enough
    seen[resolved] = shown
    sources.add(shown, text)
    out: list[s.Decl | s.ReuseDecl] = []
    for decl in parse_text(text, shown):
        if isinstance(decl, s.Include):
            child = path.parent / decl.path
            child_shown = str(Path(shown).parent / decl.path) if Path(shown).parent != Path(".") else decl.path
            out.extend(_load(child, _normalise(child_shown), sources, stack + (resolved,), seen, decl.span, includes))
        else:
            out.append(decl)
    return out


def _shipped(given: dict[str, SourceFile], shown: str) -> tuple[bytes, Path]:
    """A file of a shipped SourceCache: its bytes and what it resolved to where it was read."""
    file = given.get(shown)
    if file is None:
        raise SourceUnreadable("not among the model files shipped with the task")
    return file.text.encode("utf-8"), Path(file.resolved)


def decode_source(data: bytes, shown: str, sources: SourceCache) -> str:
    """A model file's text; a byte that is not UTF-8 is an error at its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        line = data.count(b"\n", 0, bad) + 1
        start = data.rfind(b"\n", 0, bad) + 1
        column = len(data[start:bad].decode("utf-8", "replace")) + 1
        sources.add(shown, data.decode("utf-8", "replace"))  # for the caret line
        raise error(Span(shown, line, column, line, column + 1),
                    f"cannot read '{printable(shown)}': not UTF-8 text (byte 0x{data[bad]:02x})") from None


def _normalise(p: str) -> str:
    import os.path

    return os.path.normpath(p)
