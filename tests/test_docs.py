"""Every code block of README.md and docs/ runs (or, for long runs, is checked) as a test.

- ``python`` blocks run as one script per file (in order, as a reader runs them) in a
  fresh interpreter, in a temporary folder;
- ``toml`` blocks are experiment specs: they load, resolve and build their tasks;
- ``bash`` blocks: each ``rfloc`` command line is parsed by the CLI's parser; the cheap
  commands (``specs``, ``show``, ``amplifier``, ``dynamics``, ``--version``) run, and the
  specs that ``run``/``validate`` name resolve.

A block preceded by the line ``<!-- test: slow -->`` runs only with ``pytest -m slow``
(after the file's other python blocks).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rfloc.cli import build_parser, main
from rfloc.validation import catalog
from rfloc.validation.spec import loads

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(<!-- test: slow -->\s*\n)?```(\w+)\n(.*?)\n```", re.S)
_CHEAP = {"specs", "show", "amplifier", "dynamics"}


def _blocks(lang: str) -> list:
    out = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for i, m in enumerate(_BLOCK.finditer(text)):
            if m.group(2) != lang:
                continue
            marks = [pytest.mark.slow] if m.group(1) else []
            out.append(pytest.param(m.group(3), id=f"{path.name}-{i}", marks=marks))
    return out


def _python_scripts() -> list:
    out = []
    for path in FILES:
        blocks = [(bool(m.group(1)), m.group(3)) for m in _BLOCK.finditer(
            path.read_text(encoding="utf-8")) if m.group(2) == "python"]
        fast = [code for slow, code in blocks if not slow]
        if fast:
            out.append(pytest.param("\n\n".join(fast), id=path.name))
        for i, code in enumerate(code for slow, code in blocks if slow):
            out.append(pytest.param("\n\n".join([*fast, code]), id=f"{path.name}-slow{i}",
                                    marks=[pytest.mark.slow]))
    return out


@pytest.mark.parametrize("code", _python_scripts())
def test_python_blocks_run(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("text", _blocks("toml"))
def test_toml_block_is_a_valid_spec(text):
    spec = loads(text, name="docs example")
    for scale in ("quick", "full"):
        for case in spec.resolve(scale).cases():
            assert case.task().n >= 1


def _commands(block: str) -> list[list[str]]:
    cmds = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if "&&" in line:                       # the Quickstart: the rfloc part
            line = line.rsplit("&&", 1)[1].strip()
        if line.startswith("rfloc ") or line == "rfloc":
            cmds.append(shlex.split(line)[1:])
    return cmds


@pytest.mark.parametrize("block", _blocks("bash"))
def test_bash_block_commands_are_valid(block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    parser = build_parser()
    for argv in _commands(block):
        if not argv or any(a.startswith(("SPEC", "DIR", "EXPERIMENT", "NAME", "[")) or
                           a.isupper() for a in argv):
            continue                           # a synopsis line, not a command
        args = parser.parse_args(argv)
        if args.command in _CHEAP and "--help" not in argv:
            assert main(argv) == 0, capsys.readouterr().err
        elif args.command == "run" and not argv[1].endswith(".toml"):
            assert catalog.resolve_source(argv[1])
