"""Retention per repo in requests: `{"local": {"full": 7, "full_type": "count", "diff": 3, "archive": 2,
"archive_type": "full"}, "s3": {...}}` — pgBackRest's `repoN-retention-*` by storage type, checked here
(422 naming `retention.<repo>.<setting>`) as `tasks.pgbackrest.config.Retention` checks them."""
from __future__ import annotations

from typing import Any

from tasks.pgbackrest.config import Retention, RetentionError

from .errors import ApiError

REPOS = ("local", "s3")


def checked(given: Any, storage_types: list[str], *, base: dict | None = None) -> dict[str, dict]:
    """The retention to record: `base` with the repos given replaced (null or {} resets one to keep-all)."""
    if not isinstance(given, dict):
        raise ApiError(422, "retention must be an object keyed by storage type (local, s3)", field="retention")
    out = dict(base or {})
    for repo, settings in given.items():
        field = f"retention.{repo}"
        if repo not in REPOS:
            raise ApiError(422, f"{repo!r} is not a storage type (local, s3)", field=field)
        if repo not in storage_types:
            raise ApiError(422, f"the cluster has no {repo} repository (its storage type is "
                                f"{','.join(storage_types)})", field=field)
        if settings in (None, {}):
            out.pop(repo, None)
            continue
        if not isinstance(settings, dict):
            raise ApiError(422, "must be an object: full, full_type, diff, archive, archive_type", field=field)
        try:
            out[repo] = Retention.from_json(settings).to_json()
        except RetentionError as exc:
            raise ApiError(422, str(exc), field=f"{field}.{exc.key}") from None
        except TypeError as exc:
            raise ApiError(422, str(exc), field=field) from None
    return out
