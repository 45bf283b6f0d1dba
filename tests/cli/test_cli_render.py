"""The CLI's pure parts: backup request building, error lines, tables, progress, the TTY redraw."""
from __future__ import annotations

import click
import pytest

from cli.backups import backup_request, server_wait, split_backup_opts
from cli.errors import describe
from cli.follow import ProgressDisplay
from cli.render import progress_bar, progress_line, table, value


def test_backup_opts_split_like_a_posix_shell_and_type_is_lifted_into_the_request():
    options = split_backup_opts(None, None, "--type=diff  --start-fast --annotation=\"why=a b\"")
    assert options == ["--type=diff", "--start-fast", "--annotation=why=a b"]
    assert backup_request(options, "local,s3") == {"options": options, "type": "diff", "storage_type": "local,s3"}


def test_no_backup_opts_sends_empty_options_and_lets_the_api_choose_type_and_storage():
    assert backup_request(split_backup_opts(None, None, None), None) == {"options": []}


def test_a_type_the_api_does_not_know_stays_in_options_for_the_api_to_name():
    assert backup_request(["--type=weekly"], None) == {"options": ["--type=weekly"]}


def test_the_same_type_twice_is_one_type_and_two_types_are_refused():
    assert backup_request(["--type=full", "--type=full"], None)["type"] == "full"
    with pytest.raises(click.BadParameter, match="--type has 2 different values"):
        backup_request(["--type=full", "--type=diff"], None)


def test_the_catalogue_wait_stays_below_our_own_http_timeout():
    assert [server_wait(t) for t in (30, 3.5, 1.5, 0.5)] == [5.0, 2.5, 0.5, 0.0]


def test_an_error_line_names_status_and_field_once_then_the_other_fields():
    error = {"code": 422, "message": "name: bad", "field": "name",
             "fields": {"name": ["bad"], "x": ["Unknown field.", "again"]}}
    assert describe(422, error) == "error 422 (name): bad\n  x: Unknown field.; again"


def test_an_error_body_that_is_not_ours_keeps_its_status():
    assert describe(502, {"code": 502, "message": "Bad Gateway"}) == "error 502: Bad Gateway"


def test_a_table_pads_columns_underlines_headings_and_shows_none_as_a_dash():
    assert table(("A", "LONGER"), [("xyz", None), ("w", "v")]) == "A    LONGER\n---  ------\nxyz  -\nw    v"


def test_values_read_as_text_and_long_json_is_cut():
    assert [value(None), value(True), value(["a", "b"]), value([]), value({"k": 1})] == \
        ["-", "yes", "a, b", "-", '{"k":1}']
    assert value({"k": "x" * 500}).endswith("… (-o json shows it all)")


def test_progress_shows_the_percent_while_running_only():
    running = {"state": "RUNNING", "phase": "backup to s3", "progress": {"percent": 42.4}}
    assert progress_line(running) == "RUNNING backup to s3 42%"
    assert progress_line({**running, "state": "SUCCESS", "phase": "done"}) == "SUCCESS done"
    assert progress_bar(running, width=10) == "[####------]  42% RUNNING backup to s3"
    assert progress_bar({"state": "PENDING", "phase": "queued", "progress": None}, width=4) == \
        "[----]   -% PENDING queued"


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ends_with_a_newline(capsys):
    display = ProgressDisplay(tty=True)
    display.show({"state": "RUNNING", "phase": "backup to local", "progress": {"percent": 50}})
    display.show({"state": "SUCCESS", "phase": "done", "progress": None})
    display.close()
    first = "[" + "#" * 15 + "-" * 15 + "]  50% RUNNING backup to local"
    last = ("[" + "#" * 30 + "] 100% SUCCESS done").ljust(len(first))
    assert capsys.readouterr().err == f"\r{first}\r{last}\n"


def test_off_a_terminal_a_line_is_printed_only_when_something_changed(capsys):
    display = ProgressDisplay(tty=False)
    for pct in (None, None, 10.2, 10.4, 11):
        display.show({"state": "RUNNING", "phase": "backup to local", "progress": {"percent": pct}})
    display.close()
    assert capsys.readouterr().err == ("RUNNING backup to local\nRUNNING backup to local 10%\n"
                                       "RUNNING backup to local 11%\n")
