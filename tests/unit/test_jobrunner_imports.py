"""The job-runner's start-up cost: every backup Job pays it, so `import tasks.jobrunner` (and what it imports) must
not load kubernetes_asyncio (~0.7 s) nor aiohttp and its yarl/multidict (~0.3 s).  Checked in fresh interpreters."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("kubernetes_asyncio", "kubernetes", "aiohttp", "yarl", "multidict", "propcache", "frozenlist", "aiosignal",
         "attr")


def loaded_after(code: str) -> list[str]:
    """The HEAVY packages a fresh interpreter has loaded after running `code`."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["tasks.jobrunner", "tasks.kube.lite", "tasks.kube.errors",
                                    "tasks.pgbackrest.info"])
def test_the_job_runner_and_what_it_imports_load_no_http_client_library(module):
    assert loaded_after(f"import {module}") == []


def test_the_job_runner_reaches_its_work_without_them():
    # its argument parsing and configuration too (the first thing `job-runner exec` does)
    code = ("import tasks.jobrunner as j\n"
            "args = j.parse_args(['exec', '--namespace', 'n', '--selector', 's', '--container', 'c', '--', 'true'])\n"
            "from tasks.kube import lite\n"
            "cfg = lite.Config(server='https://127.0.0.1:1', ssl_context=lite._ssl_context())\n"
            "lite.Client(cfg)")
    assert loaded_after(code) == []


def test_errors_still_map_aiohttp_refusals_once_aiohttp_is_loaded():
    # the service's kubernetes_asyncio paths (execing.py) hand errors.wrap aiohttp's handshake refusals
    code = ("from tasks.kube import errors\n"
            "import aiohttp\n"
            "exc = aiohttp.WSServerHandshakeError(None, (), status=404, message='Invalid response status')\n"
            "err = errors.wrap(exc)\n"
            "assert type(err) is errors.NotFound and err.status == 404, err\n"
            "assert type(errors.wrap(aiohttp.ClientConnectionError('x'))) is errors.Unavailable")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
