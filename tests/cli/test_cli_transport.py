"""How brq reaches the API: HTTPS with --ca-file, and the messages when it cannot ask or cannot reach it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.support.servers import free_port


def test_an_https_api_is_reached_with_its_ca_file(brq, tls_api, clusters):
    result = brq("--ca-file", tls_api.ca_file, "show", "cluster", "c1", url=tls_api.url,
                 env={"BRQ_TOKEN": tls_api.tokens["operator"]})
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith("cluster: c1\nnamespace: demo\n")


def test_an_https_api_whose_ca_is_not_trusted_is_a_tls_error_exit_2(brq, tls_api, clusters):
    result = brq("show", "cluster", url=tls_api.url, env={"BRQ_TOKEN": tls_api.tokens["operator"]})
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"brq: cannot reach the API at {tls_api.url}: TLS: ")
    assert "certificate" in result.stderr and result.stderr.endswith("(is --ca-file the API's CA?)\n")


def test_connection_refused_names_the_url_and_exits_2(brq, api):
    url = f"http://127.0.0.1:{free_port()}"
    result = brq("show", "tasks", url=url)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"brq: cannot reach the API at {url}: [Errno 111] Connection refused\n"


def test_an_api_that_never_answers_is_a_timeout_exit_2(brq, api):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = brq("--timeout=0.3", "show", "tasks", url=url)
    assert (result.exit_code, result.stderr) == (2, f"brq: cannot reach the API at {url}: no answer within 0.3 s "
                                                    f"(--timeout)\n")


def test_a_missing_token_is_said_plainly_before_any_request(brq, api):
    result = brq("show", "tasks", token=None)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "brq: no API token: pass --token or set BRQ_TOKEN (`make up` writes it to .local/env)\n"
    assert api.seen == []


def test_a_missing_or_malformed_url_is_said_plainly(brq, api):
    result = brq("show", "tasks", env={"BRQ_URL": None})
    assert (result.exit_code, result.stderr) == (2, "brq: no API URL: pass --url or set BRQ_URL (`make up` writes "
                                                    "it to .local/env)\n")
    result = brq("show", "tasks", url="localhost:8080")
    assert (result.exit_code, result.stderr) == (2, "brq: --url must be an http:// or https:// URL, not "
                                                    "'localhost:8080'\n")


def test_a_ca_file_that_does_not_exist_is_said_plainly(brq, api, tmp_path):
    result = brq("--ca-file", str(tmp_path / "none.pem"), "show", "tasks")
    assert (result.exit_code, result.stderr) == (2, f"brq: --ca-file {tmp_path / 'none.pem'}: no such file\n")


def test_help_needs_neither_url_nor_token(brq, api):
    result = brq("show", "backup", "--help", token=None, env={"BRQ_URL": None})
    assert result.exit_code == 0 and "--pgbackrest-storage-type" in result.stdout


def test_python_m_cli_runs_brq():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-m", "cli", "--help"], cwd=root, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Usage: brq [OPTIONS] COMMAND [ARGS]...")
