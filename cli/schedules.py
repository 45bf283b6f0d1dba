"""`brq create|show|delete|pause|resume schedule`: PGO v4's schedule verbs over `…/namespaces/{ns}/schedules`.

PGO v4 took the *cluster* as the argument and named the schedule `<cluster>-pgbackrest-<type>`:

    brq create schedule mycluster --schedule="0 1 * * *" --schedule-type=pgbackrest \\
        --pgbackrest-backup-type=full --pgbackrest-storage-type=s3      # schedule mycluster-pgbackrest-full

With `--cluster`, the argument is the schedule's name instead (`brq create schedule nightly --cluster=c1 …`);
`--schedule-name` names it in the PGO form.  `brq show schedule NAME` shows one schedule (or, as PGO v4,
the schedules of cluster NAME when no schedule has that name); `--cluster`/`--selector=name=C` lists a
cluster's, nothing lists the namespace's.  `brq delete schedule NAME`, or `--cluster`/`--selector` for all
of a cluster's.  `brq pause schedule NAME`, `brq resume schedule NAME`.
"""
from __future__ import annotations

import shlex
import urllib.parse
from typing import Any

import click

from .errors import ApiRefused, BrqError
from .render import table, value
from .session import Session, emit, namespace_option, output_option, pass_session

BACKUP_TYPES = ("full", "diff", "incr")


def _path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/schedules"
    return f"{base}/{urllib.parse.quote(name, safe='')}" if name else base


def _split_opts(ctx: click.Context | None, param: click.Parameter | None, text: str | None) -> list[str]:
    try:
        return shlex.split(text or "", posix=True)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} in {text!r}") from None


def _schedule_type(ctx: click.Context | None, param: click.Parameter | None, text: str | None) -> str:
    if text in (None, "pgbackrest"):
        return "pgbackrest"
    raise click.BadParameter(f"{text!r}: backrest-queue schedules pgBackRest backups only (PGO v4's policy and "
                             "pgbasebackup schedules are not part of it); use pgbackrest")


def _selector_cluster(selector: str | None, cluster: str | None) -> str | None:
    """`--selector=name=C` (PGO v4's cluster label) or `cluster=C`: the cluster; other selectors are refused."""
    if selector is None:
        return cluster
    key, sep, wanted = selector.partition("=")
    if not sep or key.strip() not in ("name", "cluster") or not wanted.strip() or "," in wanted:
        raise click.BadParameter("only name=<cluster> (or cluster=<cluster>) is supported: clusters carry no "
                                 "other labels here", param_hint="'--selector'")
    if cluster and cluster != wanted.strip():
        raise click.BadParameter(f"--cluster={cluster} and --selector={selector} disagree", param_hint="'--selector'")
    return wanted.strip()


# -- text -------------------------------------------------------------------------------------------

def _when(slot: dict | None) -> str:
    if not slot:
        return "-"
    what = slot["outcome"] if slot["outcome"] == "skipped" else (slot.get("state") or "run")
    return f"{slot['slot']} ({what}{': ' + slot['reason'] if slot.get('reason') else ''})"


def schedules_table(items: list[dict]) -> str:
    if not items:
        return "no schedules"
    rows = [(s["name"], s["cluster"], s["schedule"], s["timezone"], s["backup_type"], s["storage_type"],
             "yes" if s["paused"] else "no", s.get("next_run"), _when(s.get("last_run"))) for s in items]
    return table(("SCHEDULE", "CLUSTER", "CRON", "TZ", "TYPE", "STORAGE", "PAUSED", "NEXT RUN", "LAST RUN"), rows)


def schedule_block(s: dict) -> str:
    counts = s.get("counts") or {}
    skipped = ", ".join(f"{k} {v}" for k, v in sorted((counts.get("skipped_by_reason") or {}).items()))
    task = s.get("last_task")
    lines = [f"schedule: {s['name']}", f"namespace: {s['namespace']}", f"cluster: {s['cluster']}",
             f"cron: {s['schedule']} ({s['timezone']})", f"backup type: {s['backup_type']}",
             f"storage type: {s['storage_type']}", f"options: {value(s.get('options'))}",
             f"paused: {'yes' if s['paused'] else 'no'}", f"next run: {value(s.get('next_run'))}",
             f"last run: {_when(s.get('last_run'))}",
             f"last task: {task['id']} {task['state']}" if task else "last task: -",
             f"runs: {counts.get('runs', 0)}, skipped: {counts.get('skipped', 0)}"
             + (f" ({skipped})" if skipped else ""),
             f"created: {value(s.get('created'))}", f"updated: {value(s.get('updated'))}"]
    runs = s.get("runs") or []
    if runs:
        lines += ["", table(("SLOT", "OUTCOME", "TASK", "STATE", "REASON"),
                            [(r["slot"], r["outcome"], r.get("task_id"), r.get("state"),
                              r.get("message") or r.get("reason")) for r in runs])]
    return "\n".join(lines)


# -- verbs ------------------------------------------------------------------------------------------

@click.command("schedule")
@click.argument("name")
@click.option("--schedule", "cron", required=True, metavar="CRON",
              help='Cron: 5 fields ("0 1 * * *"), or 6 with seconds first ("*/30 * * * * *").')
@click.option("--schedule-type", callback=_schedule_type, default="pgbackrest", show_default=True,
              help="pgbackrest (the only type).")
@click.option("--pgbackrest-backup-type", "backup_type", type=click.Choice(BACKUP_TYPES), required=True,
              help="The type of pgBackRest backup to schedule.")
@click.option("--pgbackrest-storage-type", "storage_type", default="local", show_default=True,
              metavar="local|s3|local,s3", help="The repos each run backs up (one of the cluster's).")
@click.option("--schedule-opts", "options", callback=_split_opts, metavar='"OPTS"',
              help='pgBackRest backup options, e.g. "--start-fast --annotation=by=schedule".')
@click.option("--cluster", default=None, help="The cluster; then NAME is the schedule's name.")
@click.option("--schedule-name", default=None,
              help="The schedule's name (PGO form: default <cluster>-pgbackrest-<type>).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the cron times.")
@click.option("--paused", is_flag=True, help="Create it paused.")
@output_option()
@namespace_option
@pass_session
def create_schedule(session: Session, name: str, cron: str, schedule_type: str, backup_type: str, storage_type: str,
                    options: list[str], cluster: str | None, schedule_name: str | None, timezone: str, paused: bool,
                    output: str, namespace: str | None) -> None:
    """Create a backup schedule: for cluster NAME (PGO v4), or named NAME with --cluster."""
    if cluster is not None:
        sched, target = schedule_name or name, cluster
    else:
        sched, target = schedule_name or f"{name}-{schedule_type}-{backup_type}", name
    body = {"name": sched, "cluster": target, "schedule": cron, "backup_type": backup_type,
            "storage_type": storage_type, "options": options, "timezone": timezone, "paused": paused}
    ns = session.ns(namespace)
    created = session.client().call("POST", _path(ns), body=body).body
    emit(created, output, lambda s: f"created schedule {s['name']} for cluster {s['cluster']} in namespace {ns}\n"
                                    f"cron: {s['schedule']} ({s['timezone']}), next run: {value(s.get('next_run'))}")


@click.command("schedule")
@click.argument("name", required=False)
@click.option("--cluster", default=None, help="List this cluster's schedules.")
@click.option("-s", "--selector", default=None, metavar="name=CLUSTER", help="PGO v4's cluster filter.")
@click.option("--runs", type=click.IntRange(0, 200), default=10, show_default=True,
              help="How many of the last slots (runs and skips) to show with one schedule.")
@output_option()
@namespace_option
@pass_session
def show_schedule(session: Session, name: str | None, cluster: str | None, selector: str | None, runs: int,
                  output: str, namespace: str | None) -> None:
    """Show schedule NAME (next run, last run, its runs and skips), or list schedules."""
    ns = session.ns(namespace)
    client = session.client()
    cluster = _selector_cluster(selector, cluster)
    if name and not cluster:
        try:
            one = client.call("GET", _path(ns, name), query={"runs": str(runs)}).body
        except ApiRefused as exc:
            if exc.status != 404:
                raise
            listed = client.call("GET", _path(ns), query={"cluster": name}).body
            if not listed["items"]:
                raise BrqError(f"no schedule {name!r} and no schedules of a cluster {name!r} in namespace {ns}") \
                    from None
            emit(listed, output, lambda b: schedules_table(b["items"]))
            return
        emit(one, output, schedule_block)
        return
    listed = client.call("GET", _path(ns), query={"cluster": cluster}).body
    if name:
        listed = {"items": [s for s in listed["items"] if s["name"] == name]}
    emit(listed, output, lambda b: schedules_table(b["items"]))


@click.command("schedule")
@click.argument("name", required=False)
@click.option("--cluster", default=None, help="Delete every schedule of this cluster.")
@click.option("-s", "--selector", default=None, metavar="name=CLUSTER", help="PGO v4's cluster filter.")
@click.option("--schedule-name", default=None, help="PGO v4's way to name the schedule.")
@click.option("--no-prompt", is_flag=True, help="Accepted for PGO v4 compatibility (brq never prompts).")
@namespace_option
@pass_session
def delete_schedule(session: Session, name: str | None, cluster: str | None, selector: str | None,
                    schedule_name: str | None, no_prompt: bool, namespace: str | None) -> None:
    """Delete schedule NAME, or every schedule of a cluster (--cluster, --selector=name=CLUSTER)."""
    ns = session.ns(namespace)
    client = session.client()
    cluster = _selector_cluster(selector, cluster)
    names = [n for n in (name, schedule_name) if n]
    if cluster:
        names += [s["name"] for s in client.call("GET", _path(ns), query={"cluster": cluster}).body["items"]]
    if not names:
        raise click.UsageError("give a schedule NAME, --schedule-name, --cluster or --selector")
    for sched in dict.fromkeys(names):
        client.call("DELETE", _path(ns, sched))
        click.echo(f"deleted schedule {sched} in namespace {ns}")


def _set_paused(paused: bool):
    verb = "pause" if paused else "resume"

    @click.command("schedule")
    @click.argument("name")
    @output_option()
    @namespace_option
    @pass_session
    def command(session: Session, name: str, output: str, namespace: str | None) -> None:
        ns = session.ns(namespace)
        s = session.client().call("PATCH", _path(ns, name), body={"paused": paused}).body
        emit(s, output, lambda b: f"schedule {b['name']} {'paused' if paused else 'resumed'}; next run: "
                                  f"{value(b.get('next_run'))}")
    command.help = f"{verb.capitalize()} schedule NAME" + (
        ": its slots are no longer fired." if paused else ": the next run is the first slot from now.")
    return command


pause_schedule = _set_paused(True)
resume_schedule = _set_paused(False)


class VerbGroup(click.Group):
    """A verb with subcommands (`brq resume schedule NAME`) that otherwise runs an existing command
    (`brq resume NAME TASK_ID`, the restore's resume): its arguments go to that command unchanged."""

    def __init__(self, name: str, fallback: click.Command | None, **kwargs: Any):
        super().__init__(name, context_settings={"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]},
                         **kwargs)
        self.fallback = fallback

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if self.fallback is not None and (not args or args[0] not in self.commands):
            return self.fallback.name, self.fallback, args
        return super().resolve_command(ctx, args)


@click.group("pause", cls=VerbGroup, fallback=None)
def pause() -> None:
    """Pause a resource (schedule)."""


@click.group("delete", cls=VerbGroup, fallback=None)
def delete() -> None:
    """Delete a resource (cluster, schedule)."""


pause.add_command(pause_schedule)
delete.add_command(delete_schedule)


def resume_group(fallback: click.Command) -> click.Group:
    """`brq resume schedule NAME`, and `brq resume …` as `fallback` takes it otherwise."""
    group = VerbGroup("resume", fallback, help=f"Resume a schedule (resume schedule NAME), or: "
                                                f"{(fallback.help or '').splitlines()[0]} (resume NAME TASK_ID).")
    group.add_command(resume_schedule)
    return group
