"""The pure libraries never pull in the web, the database or the registry."""

import subprocess
import sys

import pytest

FORBIDDEN = ("flask", "sqlmodel", "sqlalchemy", "registry", "celery")


@pytest.mark.parametrize("package", ["evaluation", "ethics_grid", "monitoring"])
def test_pure_package_imports_nothing_forbidden(package):
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", f"{package} imported {out.stdout.strip()}"
