"""Safe expressions: whitelisted strings build their SymPy forms; everything else is refused
with one ParameterError line, and nothing in the string is ever run."""

import pytest
import sympy as sp
import sympy.parsing.sympy_parser

from rfloc.errors import ParameterError
from rfloc.theory.expressions import MAX_LENGTH, parse_expression
from rfloc.theory.marginals import U_SYMBOL, X_SYMBOL

x, u = X_SYMBOL, U_SYMBOL

GOOD = [
    ("exp(-x**2/2) * (1 + x**2)", sp.exp(-x**2 / 2) * (1 + x**2)),
    ("1 - abs(x)", 1 - sp.Abs(x)),
    ("Abs(x)**3 + 2", sp.Abs(x) ** 3 + 2),
    ("0.5 * exp(-sqrt(2) * abs(x))", sp.exp(-sp.sqrt(2) * sp.Abs(x)) / 2),
    ("1e-3 + x", sp.Rational(1, 1000) + x),
    ("-x + +x - (-x)", x),
    ("(1 + x**4)**(-5/4)", (1 + x**4) ** sp.Rational(-5, 4)),
    ("erf(x) * log(2 + x**2) / gamma(3/2)",
     sp.erf(x) * sp.log(2 + x**2) / sp.gamma(sp.Rational(3, 2))),
    ("sin(x) + cos(x) + tan(x) + sinh(x) + cosh(x) + tanh(x)",
     sp.sin(x) + sp.cos(x) + sp.tan(x) + sp.sinh(x) + sp.cosh(x) + sp.tanh(x)),
    ("atan(x) + asin(x/2) + acos(x/3)", sp.atan(x) + sp.asin(x / 2) + sp.acos(x / 3)),
    ("pi * E * x", sp.pi * sp.E * x),
    ("9**9", sp.Integer(387420489)),
]


@pytest.mark.parametrize("text, expected", GOOD)
def test_whitelisted_expressions_equal_their_sympy_forms(text, expected):
    assert parse_expression(text, [x], label="density") == expected


def test_the_caller_chooses_the_symbols_and_infinity():
    q = parse_expression("log(u) - log(1 - u)", [u], label="quantile")
    assert q == sp.log(u) - sp.log(1 - u) and q.free_symbols == {u}
    assert parse_expression("-inf", label="bound", allow_infinity=True) == -sp.oo
    assert parse_expression("oo", label="bound", allow_infinity=True) == sp.oo
    assert parse_expression("sqrt(3)", label="bound", allow_infinity=True) == sp.sqrt(3)
    with pytest.raises(ParameterError, match="name 'inf' is not allowed"):
        parse_expression("inf", [x], label="density")
    with pytest.raises(ParameterError, match="name 'x' is not allowed; allowed: u, pi, E"):
        parse_expression("x", [u], label="quantile")


BAD = [
    ("__import__('os').system('echo hi')", "attribute access is not allowed"),
    ("__import__('os')", "function '__import__' is not allowed"),
    ("x.__class__", "attribute access is not allowed"),
    ("x.__class__.__bases__[0].__subclasses__()", "is not allowed"),
    ("().__class__", "attribute access is not allowed"),
    ("lambda: 1", "lambda is not allowed"),
    ("[t for t in (1, 2)]", "a comprehension is not allowed"),
    ("sum(t for t in (x,))", "function 'sum' is not allowed"),
    ("[x]", "a list is not allowed"),
    ("(x, 1)", "a tuple is not allowed"),
    ("{x: 1}", "a dict is not allowed"),
    ("x[0]", "subscripting is not allowed"),
    ("'x'", "a string is not allowed"),
    ("f'{x}'", "a string is not allowed"),
    ("b'x'", "a string is not allowed"),
    ("True * x", "True is not allowed"),
    ("1j * x", "is not allowed; only numbers"),
    ("exp(x=1)", "keyword arguments are not allowed"),
    ("erf(x, 2)", "erf takes 1 argument, got 2"),
    ("exp(*[x])", "unpacking (*) is not allowed"),
    ("os", "name 'os' is not allowed; allowed: x, pi, E"),
    ("eval('1')", "function 'eval' is not allowed"),
    ("open('f').read()", "attribute access is not allowed"),
    ("exec('x')", "function 'exec' is not allowed"),
    ("Piecewise((1, x > 0))", "function 'Piecewise' is not allowed"),
    ("factorial(x)", "function 'factorial' is not allowed"),
    ("9**9**9", "exponent 387420489 is too large"),
    ("9**9**9**9", "exponent 387420489 is too large"),
    ("10**99 * 10**99", "number too large"),
    ("(10**50)**3", "number out of range"),
    ("1" * 120, "number too large"),
    ("x**1000", "exponent 1000 is too large"),
    ("gamma(1000)", "gamma of 1000 is too large"),
    ("1e400 * x", "number inf is not allowed"),
    ("1/0", "undefined value"),
    ("x if x else 1", "a conditional expression is not allowed"),
    ("x < 1", "a comparison is not allowed"),
    ("x and 1", "and/or is not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("x ^ 2", "operator ^ (write powers as **)"),
    ("x // 2", "operator // is not allowed"),
    ("~x", "operator ~ is not allowed"),
    ("not x", "operator not is not allowed"),
    ("...", "Ellipsis is not allowed"),
    ("None", "None is not allowed"),
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("x +", "not a valid expression"),
    ("x; import os", "not a valid expression"),
    ("import os", "not a valid expression"),
    ("x\x00", "not a valid expression"),
    ("x" + " + x" * 200, "expression too long"),
]


@pytest.mark.parametrize("text, needle", BAD)
def test_bad_expressions_are_refused_with_one_line(text, needle):
    with pytest.raises(ParameterError) as info:
        parse_expression(text, [x], label="density")
    message = str(info.value)
    assert message.startswith("density: ") and needle in message
    assert "\n" not in message


def test_nothing_is_executed(tmp_path, monkeypatch):
    # the refusal happens on the syntax tree: the file is never created, and SymPy's
    # evaluating parsers are never called
    target = tmp_path / "pwned"

    def forbidden(*args, **kwargs):
        raise AssertionError("sympify/parse_expr must not be called")

    monkeypatch.setattr(sp, "sympify", forbidden)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden)
    for text in (f"__import__('os').system('touch {target}')",
                 f"open('{target}', 'w')",
                 f"exec(\"open('{target}', 'w')\")"):
        with pytest.raises(ParameterError):
            parse_expression(text, [x], label="density")
    assert not target.exists()
    assert parse_expression("exp(-x**2)", [x]) == sp.exp(-x**2)


def test_size_guards_come_before_sympy():
    assert len("x" + " + x" * 200) > MAX_LENGTH
    deep = "-" * 400 + "x"                       # deep but short: fine
    assert parse_expression(deep, [x]) == x
    with pytest.raises(ParameterError, match=r"not a valid expression|too deeply nested"):
        parse_expression("(" * 240 + "x" + ")" * 240, [x])
    with pytest.raises(ParameterError, match="must be a string"):
        parse_expression(3, [x])                 # type: ignore[arg-type]
