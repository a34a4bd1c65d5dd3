"""The layers of docs/architecture.md hold: import-linter checks the
contracts in pyproject.toml ([tool.importlinter]) against the real import
graph, and a copy of the tree with one forbidden import added fails them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint(cwd: Path) -> subprocess.CompletedProcess:
    """lint-imports as a user runs it, on the taskvisor package found from ``cwd``."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, forbidden", [
    ("tasks/runner.py", "import taskvisor.flows"),                 # the engine importing the application
    ("states/server.py", "import taskvisor.virt.driver"),          # states above virt
    ("api/baremetal/views.py", "import taskvisor.baremetal.drivers"),  # the API loading hardware drivers
    ("virt/baremetal.py", "import taskvisor.db.session"),          # a compute opening the database
    ("flows/boot.py", "import taskvisor.compute.manager"),         # a flow bypassing compute RPC
])
def test_a_forbidden_import_breaks_the_contracts(tmp_path, module, forbidden):
    shutil.copytree(ROOT / "taskvisor", tmp_path / "taskvisor", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "taskvisor" / module, "a") as f:
        f.write(f"\n{forbidden}  # noqa: E402,F401\n")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and forbidden.split()[-1] in result.stdout, result.stdout
