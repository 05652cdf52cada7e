"""The mutants of the DTMS engine: which small changes ``scripts/mutate_engine.py`` makes to
``dtms_plugin/engine``, where, and the module each one turns a file into.

A mutation point is found by walking a file's syntax tree in a fixed order, so a mutant's
``index`` (its place in that walk) and its ``ident`` (file, line, column, the code and the
change) name the same change on every run while the line is unchanged. Messages, asserts
and docstrings are not mutated: a change there says nothing about behaviour.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENGINE = Path(__file__).resolve().parent.parent / "dtms_plugin" / "engine"

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    """One change to one file. ``ident`` is stable while the line does not change: it is
    what EQUIVALENT_MUTANTS.md names."""

    file: str
    index: int  # the n-th mutation point of the file, in AST walk order
    line: int
    col: int
    end_line: int
    scope: str  # the enclosing top-level function or class.method, or "<module>"
    scope_lines: tuple[int, int]
    description: str
    source: str

    @property
    def ident(self) -> str:
        return f"{self.file}:{self.line}:{self.col} {self.source} | {self.description}"


def _skippable(node: ast.AST) -> bool:
    """Subtrees whose mutants say nothing about behaviour: messages, annotations, asserts
    (type narrowing) and docstrings."""
    return isinstance(node, ast.JoinedStr | ast.Assert)


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        and isinstance(body, list)
        and bool(body)
        and body[0] is node
    )


class _Mutator(ast.NodeTransformer):
    """Walks a module; at the ``target``-th mutation point it rewrites the node. With
    ``target = -1`` it only records the points (``found``)."""

    def __init__(self, target: int, source: str) -> None:
        self.target = target
        self.count = 0
        self.source = source
        self.in_class = False
        self.found: list[tuple[int, int, int, str, str, str, tuple[int, int]]] = []
        self.scope = "<module>"
        self.scope_lines = (0, 0)
        self.done = False

    # -- bookkeeping
    def _point(self, node: ast.AST, description: str) -> bool:
        """Record one mutation point; True when it is the one to apply."""
        index = self.count
        self.count += 1
        line = getattr(node, "lineno", 0)
        col = getattr(node, "col_offset", 0)
        end = getattr(node, "end_lineno", line) or line
        src = ast.get_source_segment(self.source, node) or ""
        src = " ".join(src.split())
        if len(src) > 60:
            src = src[:57] + "..."
        self.found.append((line, col, end, self.scope, description, src, self.scope_lines))
        if index == self.target:
            self.done = True
            return True
        return False

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for name, value in ast.iter_fields(node):
            if isinstance(value, list):
                new: list[Any] = []
                for item in value:
                    if isinstance(item, ast.AST):
                        if _skippable(item) or _is_docstring(item, node):
                            new.append(item)
                            continue
                        item = self.visit(item)
                        if item is None:
                            continue
                    new.append(item)
                value[:] = new
            elif isinstance(value, ast.AST) and not _skippable(value):
                setattr(node, name, self.visit(value))
        return node

    # -- scopes and what is not mutated
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        outer, outer_lines, in_class = self.scope, self.scope_lines, self.in_class
        if outer == "<module>" or in_class:  # a nested function keeps its outer scope
            self.scope = node.name if outer == "<module>" else f"{outer}.{node.name}"
            self.scope_lines = (node.lineno, node.end_lineno or node.lineno)
        self.in_class = False
        # annotations and decorators are left alone; defaults and the body are mutated
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [
            self.visit(d) if d is not None else None for d in node.args.kw_defaults
        ]
        body: list[ast.stmt] = []
        for i, stmt in enumerate(node.body):
            if i == 0 and _is_docstring(stmt, node):
                body.append(stmt)
            else:
                body.append(self.visit(stmt))
        node.body = body
        self.scope, self.scope_lines, self.in_class = outer, outer_lines, in_class
        return node

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """Only the methods of a class are mutated: its fields' defaults are baked into
        generated ``__init__``s this script cannot swap."""
        outer, in_class = self.scope, self.in_class
        self.scope, self.in_class = node.name, True
        node.body = [
            self.visit(s) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) else s
            for s in node.body
        ]
        self.scope, self.in_class = outer, in_class
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return node

    # -- the operators
    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is None:
                continue
            desc = f"{_SYMBOLS[type(op)]} → {_SYMBOLS[swap]}"
            if self._point(node, desc):
                node.ops[i] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._point(node, f"{_SYMBOLS[type(node.op)]} → {_SYMBOLS[other]}"):
            node.op = other()
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None and self._point(node, f"{_SYMBOLS[type(node.op)]} → {_SYMBOLS[swap]}"):
            node.op = swap()
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None and self._point(
            node, f"{_SYMBOLS[type(node.op)]}= → {_SYMBOLS[swap]}="
        ):
            node.op = swap()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if isinstance(node.op, ast.Not) and self._point(node, "not x → x"):
            return node.operand
        if isinstance(node.op, ast.USub) and self._point(node, "-x → x"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._point(node, f"{value} → {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, int | float):
            nudged = value + 1
            if self._point(node, f"{value!r} → {nudged!r}"):
                return ast.copy_location(ast.Constant(nudged), node)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        value = node.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            return node
        if self._point(node, "return x → return None"):
            node.value = ast.copy_location(ast.Constant(None), value)
        return node

    def _negate_test(self, node: ast.If | ast.While | ast.IfExp) -> None:
        if self._point(node.test, "condition negated"):
            node.test = ast.copy_location(ast.UnaryOp(ast.Not(), node.test), node.test)

    def visit_If(self, node: ast.If) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        self._negate_test(node)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        self._negate_test(node)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        self._negate_test(node)
        return node


def mutants_of(name: str) -> list[Mutant]:
    path = ENGINE / name
    source = path.read_text()
    m = _Mutator(-1, source)
    m.visit(ast.parse(source))
    out: list[Mutant] = []
    seen: dict[str, int] = {}
    for i, (line, col, end, scope, desc, src, lines) in enumerate(m.found):
        key = f"{line}:{col} {src} | {desc}"
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same change twice on one line: numbered, to stay unique
            desc = f"{desc} #{seen[key]}"
        out.append(Mutant(name, i, line, col, end, scope, lines, desc, src))
    return out


def mutated_tree(mutant: Mutant) -> ast.Module:
    source = (ENGINE / mutant.file).read_text()
    m = _Mutator(mutant.index, source)
    tree = m.visit(ast.parse(source))
    if not m.done:
        raise RuntimeError(f"mutation point {mutant.index} not found in {mutant.file}")
    return ast.fix_missing_locations(tree)
