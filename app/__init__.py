"""The REST API (Flask + flask-smorest): validates, records tasks, enqueues them, answers their status.

It never talks to Kubernetes (import rule): everything it knows of clusters
comes from the records the workers write.  `create_app()` for gunicorn
(`gunicorn 'app:create_app()'`), settings from `BRQ_*`/conf.
"""
from __future__ import annotations

import logging
import os

from flask import Flask, request

from tasks import logs
from tasks.auth_tokens import load_tokens
from tasks.runtime import Runtime, set_runtime
from tasks.settings import Settings, load_settings_from_environ

from . import apidoc, auth, errors, idempotency

MAX_BODY = 64 * 1024


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    if not logging.getLogger().handlers:  # under gunicorn nothing configures the root logger: audit lines need one
        logs.configure("api")
    settings = settings or (runtime.settings if runtime else load_settings_from_environ(os.environ))
    rt = runtime or Runtime.from_settings(settings)
    set_runtime(rt)
    app = Flask("backrest-queue")
    app.config.update(
        BRQ_RUNTIME=rt,
        BRQ_TOKENS=load_tokens(os.path.join(settings.conf_dir, settings.api.tokens_file)),
        MAX_CONTENT_LENGTH=MAX_BODY,
        JSON_SORT_KEYS=False,
    )
    _document(app)
    from . import metrics, system
    app.register_blueprint(system.blp)
    app.register_blueprint(metrics.blp)
    errors.install(app)

    @app.before_request
    def _gate():
        auth.authenticate()
        if request.method in ("POST", "PUT", "PATCH") and request.content_length:
            if request.mimetype != "application/json":
                raise errors.ApiError(415, f"the body must be application/json, not {request.mimetype or 'none'}")
        return idempotency.begin()

    app.after_request(idempotency.finish)

    return app


def _document(app: Flask) -> apidoc.Api:
    """The flask-smorest Api on `app`: the documented blueprints, whose schemas are the OpenAPI document."""
    app.config.update(
        API_TITLE="backrest-queue", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="api/v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
                          "security": [{"bearer": []}]},
    )
    api = apidoc.Api(app, spec_kwargs={"extra_plugins": [apidoc.CommonResponses()]})
    apidoc.register_responses(api)
    from . import backups, clusters, restores, schedules, taskviews
    for blp in (clusters.blp, backups.blp, restores.blp, schedules.blp, taskviews.blp):
        api.register_blueprint(blp)
    return api


def openapi_document() -> dict:
    """The document `/api/v1/openapi.json` serves, built without settings, tokens or Redis (tests, tooling)."""
    return _document(Flask("backrest-queue")).spec.to_dict()
