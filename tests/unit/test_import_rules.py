"""STYLE.md's import rules, enforced: app/ never imports the Kubernetes client, tasks/ never imports Flask,
nothing but tests, benchmarks and the demo imports kubesim, and the CLI talks to the API only over HTTP."""
from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RULES = {
    "app": ("kubernetes_asyncio", "kubesim", "tasks.kube", "tasks.steps", "tasks.watcher", "tasks.jobrunner"),
    "tasks": ("flask", "flask_smorest", "app", "kubesim", "cli"),
    "cli": ("tasks", "app", "kubesim", "kubernetes_asyncio", "flask"),
    "kubesim": ("app", "tasks", "cli"),
}


def imports_of(package: str) -> list[tuple[str, str]]:
    """(file, imported module) for every import in the package's sources."""
    out = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    out += [(path, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    out.append((path, node.module))
    return out


@pytest.mark.parametrize("package", sorted(RULES))
def test_the_package_imports_nothing_it_must_not(package):
    found = imports_of(package)
    assert found, f"{package} has no imports at all: is the rule pointing at the right place?"
    forbidden = RULES[package]
    bad = [(os.path.relpath(path, ROOT), module) for path, module in found
           if any(module == f or module.startswith(f + ".") for f in forbidden)]
    assert bad == []
