"""Every route but /healthz needs a token: walk Flask's URL map and call each rule with each of its methods."""
from __future__ import annotations

import re


def _concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: {"ns": "demo"}.get(m.group(1), "x"), rule)


def test_every_route_and_method_but_healthz_answers_401_without_a_token(client):
    seen = 0
    for rule in client.application.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = _concrete(rule.rule)
            resp = client.open(path, method=method, json={} if method in ("POST", "PATCH", "PUT") else None)
            if rule.rule == "/healthz":
                assert resp.status_code == 200
                continue
            seen += 1
            assert resp.status_code == 401, (method, rule.rule, resp.status_code)
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            bad = client.open(path, method=method, headers={"Authorization": "Bearer brq_not-a-token"})
            assert bad.status_code == 401, (method, rule.rule, bad.status_code)
    assert seen >= 20  # the walk reached the whole API, not a part of it
