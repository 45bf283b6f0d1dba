"""The floor for bench/api_bench.py: a bare Flask endpoint that parses the JSON body and calls Celery `send_task`.

Served by gunicorn exactly as the stack serves the API (same worker count and kind), against the same Redis,
with the service's own Celery app (tasks/celery_app.py: same broker settings and serializer) and the same
task name and queue, so the difference to the real endpoint is what the service adds: authentication,
validation, cluster lookup, the task record and cluster lock, and the answer.

    gunicorn -w 2 -b 127.0.0.1:PORT 'bench.floor_app:create_app()'      (BRQ_REDIS_URL set)
"""
from __future__ import annotations

import os
import uuid

from flask import Flask, jsonify, request

from tasks.celery_app import app as celery_app


def create_app() -> Flask:
    celery_app.conf.broker_url = os.environ["BRQ_REDIS_URL"]
    app = Flask("floor")

    @app.post("/api/v1/namespaces/<string:ns>/clusters/<string:name>/backups")
    def submit(ns: str, name: str):
        request.get_json()
        task_id = str(uuid.uuid4())
        celery_app.send_task("brq.advance", args=[task_id])
        return jsonify(task_id=task_id), 202, {"Location": f"/api/v1/tasks/{task_id}"}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app
