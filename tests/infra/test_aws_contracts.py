"""docs/aws-contracts.md stays true to the code: a row for every AWS operation the runtime code
calls, and every test it names as pinning a row exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.aws_operations import LAUNCHER_OPERATIONS, expected

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "aws-contracts.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_runtime_operation_has_a_row() -> None:
    text = DOC.read_text(encoding="utf-8")
    for operation in sorted(expected() | set(LAUNCHER_OPERATIONS)):
        name = operation.split(".", 1)[1]
        assert name in text, f"docs/aws-contracts.md has no row for {operation}"


def test_every_pinning_test_exists() -> None:
    references = REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(references) >= 40
    missing = []
    for path, name in set(references):
        source = ROOT / path
        tree = ast.parse(source.read_text(encoding="utf-8")) if source.exists() else None
        defined = {
            node.name
            for node in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
            if isinstance(node, ast.FunctionDef)
        }
        if name not in defined:
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/aws-contracts.md names tests that do not exist: {missing}"


def test_every_row_names_a_source_and_a_test() -> None:
    rows = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\| [A-Z]\d+ \|", line)
    ]
    assert len(rows) >= 30
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 6, row[:80]
        assert '"' in cells[3] or "`" in cells[3], f"no source page title: {row[:80]}"
        assert REFERENCE.search(cells[5]), f"no pinning test: {row[:80]}"
