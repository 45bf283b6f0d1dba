"""A conf directory for tests: the repo's pgo.yaml, our own tokens, settings pointed at test servers."""
from __future__ import annotations

import os
import pwd
import shutil

from tasks.auth_tokens import add_token
from tasks.settings import Settings, load_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TOKENS = {
    "admin": (["*"], ["*"]),
    "operator": (["CreateCluster", "CreateBackup", "ShowBackup", "ShowTask", "CancelTask"], ["demo"]),
    "viewer": (["ShowBackup", "ShowTask"], ["demo"]),
    "other": (["*"], ["other"]),
    "probe": ([], []),  # no roles: readiness probes (python -m tasks.health api)
}


def make_conf(directory: str) -> dict[str, str]:
    """Copy conf/ into `directory` with a fresh tokens file; returns token name → token."""
    os.makedirs(directory, exist_ok=True)
    for name in ("pgo.yaml", "aws-s3-credentials.yaml", "aws-s3-ca.crt"):
        shutil.copy(os.path.join(ROOT, "conf", name), os.path.join(directory, name))
    path = os.path.join(directory, "tokens.yaml")
    tokens = {}
    for name, (roles, namespaces) in TOKENS.items():
        tokens[name] = add_token(path, name, roles, namespaces).reveal()
    return tokens


def environ(redis_url: str, *, s3=None, namespaces: str = "demo,other", extra: dict | None = None) -> dict:
    pg = pwd.getpwnam("postgres")
    env = {"BRQ_REDIS_URL": redis_url, "BRQ_NAMESPACES": namespaces, "BRQ_PG_UID": str(pg.pw_uid),
           "BRQ_PG_GID": str(pg.pw_gid)}
    if s3 is not None:
        env.update({"BRQ_S3_ENDPOINT": f"localhost:{s3.port}", "BRQ_S3_CA_FILE": s3.ca_file,
                    "BRQ_S3_BUCKET": "backrest-queue-test"})
    else:
        env["BRQ_S3_BUCKET"] = ""
        env["BRQ_STORAGE_TYPE"] = "local"
    env.update(extra or {})
    return env


def settings_for(directory: str, env: dict) -> Settings:
    return load_settings(directory, env)
