r"""Safe parsing of user expressions (a density in ``x``, a quantile in ``u``, a bound).

A command-line string is never handed to :func:`sympy.sympify` or
:func:`sympy.parsing.sympy_parser.parse_expr`: both evaluate Python code. Instead
:func:`parse_expression` parses the string with :func:`ast.parse` (which only builds a
syntax tree, it runs nothing), checks every node of the tree against a whitelist, and
builds the SymPy expression itself from the checked tree.

The whitelist (``docs/usage.md``, "Expressions"):

- numbers (ints and decimals, taken exactly: ``0.1`` is ``1/10``), the operators
  ``+ - * / **`` and unary ``+ -``, parentheses;
- the names given by the caller (``x`` for a density, ``u`` for a quantile), the constants
  ``pi`` and ``E``, and ``inf``/``oo`` where the caller allows infinity (bounds);
- one-argument calls of the elementary functions in :data:`FUNCTIONS`.

Anything else (attributes, subscripts, lambdas, comprehensions, strings, keyword
arguments, comparisons, other operators, unknown names or functions) is refused with one
:class:`~rfloc.errors.ParameterError` line naming the problem. Size guards run before
SymPy evaluates anything: at most :data:`MAX_LENGTH` characters, exponents with
:math:`|e| \le` :data:`MAX_EXPONENT`, numbers below :math:`10^{100}` in magnitude
(:data:`MAX_DIGITS`), and ``gamma`` of a number only up to :data:`MAX_GAMMA`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import sympy as sp

from rfloc.errors import ParameterError

__all__ = ["FUNCTIONS", "MAX_DIGITS", "MAX_EXPONENT", "MAX_GAMMA", "MAX_LENGTH",
           "parse_expression"]

#: longest accepted expression, in characters
MAX_LENGTH = 500
#: largest accepted |exponent| of a numeric exponent
MAX_EXPONENT = 100
#: numbers must be below 10**MAX_DIGITS in magnitude (literals and numeric results)
MAX_DIGITS = 100
#: largest accepted |argument| of gamma at a number (gamma(n) is evaluated exactly)
MAX_GAMMA = 60

#: the callable names and the SymPy functions they build (each takes one argument)
FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "erf": sp.erf, "abs": sp.Abs,
    "Abs": sp.Abs, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sinh": sp.sinh,
    "cosh": sp.cosh, "tanh": sp.tanh, "atan": sp.atan, "asin": sp.asin, "acos": sp.acos,
    "gamma": sp.gamma,
}

_CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}
_INFINITY: dict[str, sp.Expr] = {"inf": sp.oo, "oo": sp.oo}
_BINARY: dict[type[ast.operator], Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
}
_OPERATOR_TEXT: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
    ast.BitXor: "^ (write powers as **)",
}
_NODE_TEXT: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripting",
    ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict",
    ast.JoinedStr: "a string", ast.Compare: "a comparison", ast.BoolOp: "and/or",
    ast.IfExp: "a conditional expression", ast.NamedExpr: "assignment (:=)",
    ast.Starred: "unpacking (*)", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def parse_expression(text: str, symbols: Sequence[sp.Symbol] = (), *,
                     label: str = "expression", allow_infinity: bool = False) -> sp.Expr:
    r"""The SymPy expression of ``text``, built from its checked syntax tree.

    Parameters
    ----------
    text : str
        A Python-syntax arithmetic expression, e.g. ``"exp(-x**2/2) * (1 + x**2)"``.
    symbols : sequence of sympy.Symbol
        The variables allowed, by name (e.g. ``[rfloc.theory.marginals.X_SYMBOL]``);
        the expression is built in exactly these symbols.
    label : str
        What the expression is, the first word of every error message (``"density"``).
    allow_infinity : bool
        Also accept ``inf`` and ``oo`` (:math:`\infty`), e.g. for a support bound.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ParameterError
        One line naming the problem: a syntax error, a node, name, function or operator
        outside the whitelist, or a size guard.
    """
    if not isinstance(text, str):
        raise ParameterError(f"{label}: must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParameterError(f"{label}: expression too long ({len(text)} characters, at most "
                             f"{MAX_LENGTH})")
    if not text.strip():
        raise ParameterError(f"{label}: empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise ParameterError(f"{label}: not a valid expression: "
                             f"{getattr(exc, 'msg', None) or exc}") from None
    except (RecursionError, MemoryError):
        raise ParameterError(f"{label}: expression too deeply nested") from None
    names = {s.name: s for s in symbols} | _CONSTANTS | (_INFINITY if allow_infinity else {})
    builder = _Builder(label, names)
    try:
        return builder.build(tree.body)
    except RecursionError:
        raise ParameterError(f"{label}: expression too deeply nested") from None


class _Builder:
    """Checks one node at a time and builds its SymPy value (children first)."""

    def __init__(self, label: str, names: dict[str, sp.Expr]) -> None:
        self.label = label
        self.names = names

    def fail(self, what: str) -> ParameterError:
        return ParameterError(f"{self.label}: {what}")

    def build(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise self.fail(f"name {node.id!r} is not allowed; allowed: "
                                f"{', '.join(self.names)}")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand)
            return self.number(-value if isinstance(node.op, ast.USub) else value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(self.build(node.left), self.build(node.right))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.build(node.left), self.build(node.right)
            return self.number(_BINARY[type(node.op)](left, right))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            op = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise self.fail(f"operator {op} is not allowed; allowed: + - * / **")
        what = _NODE_TEXT.get(type(node), type(node).__name__)
        raise self.fail(f"{what} is not allowed")

    def constant(self, value: object) -> sp.Expr:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else repr(value)
            raise self.fail(f"{kind} is not allowed; only numbers")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(f"number {value!r} is not allowed (use inf for a bound)")
        return self.number(sp.Integer(value) if isinstance(value, int)
                           else sp.Rational(repr(value)))

    def number(self, value: sp.Expr) -> sp.Expr:
        """``value``, refused if undefined or a number of :data:`MAX_DIGITS` digits or more."""
        if value.has(sp.zoo, sp.nan):
            raise self.fail("undefined value (a division by zero?)")
        if value.is_Number and value.is_finite and abs(value) >= sp.Integer(10) ** MAX_DIGITS:
            raise self.fail(f"number too large (at most 1e{MAX_DIGITS} in magnitude)")
        return value

    def power(self, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            raise self.fail(f"exponent {_short(exponent)} is too large (at most "
                            f"{MAX_EXPONENT} in magnitude)")
        if base.is_Number and exponent.is_Number and base != 0:
            digits = float(abs(exponent)) * math.log10(float(abs(base)))
            if abs(digits) >= MAX_DIGITS:
                raise self.fail(f"number out of range (magnitudes 1e-{MAX_DIGITS} to "
                                f"1e{MAX_DIGITS})")
        return self.number(base**exponent)

    def call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            what = _NODE_TEXT.get(type(node.func), "calling anything but a function name")
            raise self.fail(f"{what} is not allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(f"function {name!r} is not allowed; allowed: "
                            f"{', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.fail(f"keyword arguments are not allowed ({name})")
        if len(node.args) != 1:
            raise self.fail(f"{name} takes 1 argument, got {len(node.args)}")
        arg = self.build(node.args[0])
        if name == "gamma" and arg.is_Number and abs(arg) > MAX_GAMMA:
            raise self.fail(f"gamma of {_short(arg)} is too large (argument at most "
                            f"{MAX_GAMMA} in magnitude)")
        return self.number(FUNCTIONS[name](arg))


def _short(value: sp.Expr) -> str:
    """A number as text, shortened to 20 characters."""
    text = str(value)
    return text if len(text) <= 20 else f"{text[:17]}..."
