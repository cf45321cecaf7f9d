"""Layer rules: the engine never imports Streamlit; pages hold no SQL and no engine internals."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "metrics").rglob("*.py")), ids=lambda p: p.name)
def test_engine_modules_do_not_import_streamlit_plotly_or_the_ui(path):
    # The engine serves the CLI, the alerts and the review pack without the app: it may not
    # lean on ui/, even a module of it that happens not to import Streamlit today.
    assert not _imports(path) & {"streamlit", "plotly", "ui", "views"}, \
        f"{path.name} belongs in ui/ (or what it uses belongs in metrics/)"


def test_engine_imports_without_streamlit_installed():
    # Block streamlit at import time and load every engine module.
    code = ("import sys, pkgutil, importlib; sys.modules['streamlit'] = None; import metrics; "
            "[importlib.import_module('metrics.' + m.name) for m in pkgutil.iter_modules(metrics.__path__) "
            "if m.name != '__main__']")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+[\w*]", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted((ROOT / "views").glob("*.py")), ids=lambda p: p.name)
def test_pages_contain_no_sql_and_no_direct_warehouse_access(path):
    text = path.read_text(encoding="utf-8")
    strings = [n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant)
               and isinstance(n.value, str)]
    assert not [s for s in strings if SQL.search(s) and " FROM " in s.upper()], path.name
    assert "duckdb" not in _imports(path) and ".execute(" not in text
