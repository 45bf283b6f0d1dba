"""tasks.schedules.cron: 5- and 6-field expressions, their errors, and fire times in UTC and other zones."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tasks.schedules.cron import CronError, parse

UTC = timezone.utc


def at(*args, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


def fires(expression: str, start: datetime, count: int, tz: str = "UTC") -> list[str]:
    cron = parse(expression, tz)
    out, t = [], start
    for _ in range(count):
        t = cron.next_after(t)
        out.append(t.strftime("%Y-%m-%d %H:%M:%S"))
    return out


def test_five_fields_fire_on_the_minute_and_six_fields_on_the_second():
    assert fires("0 1 * * *", at(2024, 3, 1, 0, 59, 59), 2) == ["2024-03-01 01:00:00", "2024-03-02 01:00:00"]
    assert fires("*/10 * * * * *", at(2024, 3, 1, 0, 0, 0, 500000), 3) == [
        "2024-03-01 00:00:10", "2024-03-01 00:00:20", "2024-03-01 00:00:30"]
    assert parse("*/10 * * * * *").has_seconds and not parse("0 1 * * *").has_seconds


def test_the_next_fire_time_is_strictly_after_the_given_one():
    cron = parse("0 1 * * *")
    assert cron.next_after(at(2024, 3, 1, 1, 0, 0)) == at(2024, 3, 2, 1, 0, 0)
    assert cron.next_after(at(2024, 3, 1, 0, 59, 59, 999999)) == at(2024, 3, 1, 1, 0, 0)


def test_lists_ranges_steps_and_names():
    assert fires("0 30 9-17/4 * * MON-FRI", at(2024, 3, 1, 12, 0), 4) == [  # 2024-03-01 is a Friday
        "2024-03-01 13:30:00", "2024-03-01 17:30:00", "2024-03-04 09:30:00", "2024-03-04 13:30:00"]
    assert fires("15,45 2 1 jan,jul *", at(2024, 1, 1), 3) == [
        "2024-01-01 02:15:00", "2024-01-01 02:45:00", "2024-07-01 02:15:00"]
    assert fires("0 0 * * 7", at(2024, 3, 1), 1) == ["2024-03-03 00:00:00"]  # 7 is Sunday too
    assert fires("5/20 * * * * *", at(2024, 3, 1), 3) == [
        "2024-03-01 00:00:05", "2024-03-01 00:00:25", "2024-03-01 00:00:45"]


def test_macros_stand_for_their_five_field_forms():
    assert fires("@daily", at(2024, 3, 1, 5), 1) == ["2024-03-02 00:00:00"]
    assert fires("@hourly", at(2024, 3, 1, 5, 1), 1) == ["2024-03-01 06:00:00"]
    assert fires("@weekly", at(2024, 3, 1), 1) == ["2024-03-03 00:00:00"]


def test_both_day_fields_restricted_means_either_and_a_star_means_both():
    # the 13th, or any Friday (Vixie cron)
    assert fires("0 0 13 * FRI", at(2024, 3, 1, 1), 3) == [
        "2024-03-08 00:00:00", "2024-03-13 00:00:00", "2024-03-15 00:00:00"]
    assert fires("0 0 ? * FRI", at(2024, 3, 1, 1), 2) == ["2024-03-08 00:00:00", "2024-03-15 00:00:00"]
    assert fires("0 0 */2 * FRI", at(2024, 3, 1, 1), 2) == ["2024-03-03 00:00:00", "2024-03-05 00:00:00"]


def test_february_29_fires_in_leap_years_only():
    assert fires("0 0 29 2 *", at(2097, 1, 1), 1) == ["2104-02-29 00:00:00"]


def test_months_without_the_day_are_passed_over():
    assert fires("0 0 31 * *", at(2024, 1, 31, 1), 2) == ["2024-03-31 00:00:00", "2024-05-31 00:00:00"]


def test_the_latest_fire_time_at_or_before_is_the_slot_a_firing_belongs_to():
    cron = parse("*/5 * * * * *")
    assert cron.latest_at_or_before(at(2024, 3, 1, 0, 0, 7, 300000)) == at(2024, 3, 1, 0, 0, 5)
    assert cron.latest_at_or_before(at(2024, 3, 1, 0, 0, 5)) == at(2024, 3, 1, 0, 0, 5)
    assert parse("0 1 * * *").latest_at_or_before(at(2024, 3, 1, 0, 30)) == at(2024, 2, 29, 1, 0)
    assert parse("0 0 31 * *").latest_at_or_before(at(2024, 3, 1)) == at(2024, 1, 31)
    assert parse("0 0 1 1 *").latest_at_or_before(at(2024, 6, 1)) == at(2024, 1, 1)


@pytest.mark.parametrize("expression", ["*/7 * * * * *", "0 */3 * * *", "0 0 13 * FRI", "30 2 * * *",
                                        "0 0 29 2 *", "15 10 * 3,11 SUN"])
def test_next_and_latest_agree_on_every_slot(expression):
    cron = parse(expression, "Europe/Paris")
    t = at(2024, 3, 1)
    for _ in range(50):
        nxt = cron.next_after(t)
        assert cron.latest_at_or_before(nxt) == nxt
        assert cron.latest_at_or_before(nxt - timedelta(microseconds=1)) in (None, t) or \
            cron.latest_at_or_before(nxt - timedelta(microseconds=1)) <= t
        t = nxt


def test_times_are_wall_clock_times_in_the_schedules_zone():
    assert fires("0 1 * * *", at(2024, 1, 9, 12), 1, "Europe/Paris") == ["2024-01-10 00:00:00"]  # 01:00 CET
    assert fires("0 1 * * *", at(2024, 7, 9, 12), 1, "Europe/Paris") == ["2024-07-09 23:00:00"]  # 01:00 CEST


def test_a_time_the_clock_skips_fires_as_much_later_and_a_repeated_time_fires_once():
    # Europe/Paris: 2024-03-31 02:00 CET → 03:00 CEST; 2024-10-27 03:00 CEST → 02:00 CET
    assert fires("30 2 * * *", at(2024, 3, 30, 12), 2, "Europe/Paris") == [
        "2024-03-31 01:30:00",   # 02:30 does not exist: 03:30 CEST
        "2024-04-01 00:30:00"]
    assert fires("30 2 * * *", at(2024, 10, 26, 12), 2, "Europe/Paris") == [
        "2024-10-27 00:30:00",   # 02:30 CEST, the first of two
        "2024-10-28 01:30:00"]
    every_half_hour = fires("*/30 * * * *", at(2024, 10, 27, 0, 0), 4, "Europe/Paris")
    assert every_half_hour == ["2024-10-27 00:30:00", "2024-10-27 02:00:00", "2024-10-27 02:30:00",
                               "2024-10-27 03:00:00"]  # 02:00/02:30 CET (repeated) do not fire again


@pytest.mark.parametrize("expression, words", [
    ("", "empty"),
    ("0 1 * *", "4 fields"),
    ("0 0 1 * * * *", "7 fields"),
    ("61 * * * *", "minute field (1st of 5) '61': 61 is out of range 0-59"),
    ("0 24 * * *", "hour field (2nd of 5) '24': 24 is out of range 0-23"),
    ("60 * * * * *", "second field (1st of 6) '60': 60 is out of range 0-59"),
    ("0 0 0 * *", "day-of-month field (3rd of 5) '0': 0 is out of range 1-31"),
    ("0 0 * 13 *", "month field (4th of 5) '13': 13 is out of range 1-12"),
    ("0 0 * * 8", "day-of-week field (5th of 5) '8': 8 is out of range 0-7"),
    ("0 0 * FOO *", "'FOO' is not a number or a name (JAN, FEB"),
    ("*/0 * * * *", "step '0' in '*/0' must be a whole number of at least 1"),
    ("0 5-2 * * *", "range '5-2' runs backwards"),
    ("0,,5 * * * *", "empty item"),
    ("? * * * *", "'?' is only allowed in the day-of-month and day-of-week fields"),
    ("0 0 L * *", "L, W and # are not supported"),
    ("0 0 * * 1#2", "L, W and # are not supported"),
    ("@reboot", "unknown macro '@reboot'"),
    ("0 0 30 2 *", "never fires"),
    ("a b c d e", "minute field (1st of 5) 'a': 'a' is not a number"),
])
def test_bad_expressions_are_refused_naming_the_field_and_the_rule(expression, words):
    with pytest.raises(CronError) as err:
        parse(expression)
    assert words in str(err.value)


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "Europe/Paris "])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(CronError, match="time zone"):
        parse("0 1 * * *", name)


def test_whitespace_is_normalized_in_the_expression_kept():
    assert parse("  0   1 * *\t* ").expression == "0 1 * * *"


def test_between_lists_the_slots_in_an_interval_with_a_limit():
    cron = parse("*/10 * * * * *")
    slots = cron.between(at(2024, 3, 1, 0, 0, 0), at(2024, 3, 1, 0, 1, 0), limit=4)
    assert [s.second for s in slots] == [10, 20, 30, 40]
