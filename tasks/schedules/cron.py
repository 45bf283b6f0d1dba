"""Cron expressions: parsed and validated once, then asked for fire times. Pure: no I/O, no clock.

Two forms, as CloudNativePG (robfig/cron) takes them:

    minute hour day-of-month month day-of-week                 "0 1 * * *"      01:00 every day
    second minute hour day-of-month month day-of-week          "*/10 * * * * *" every 10 seconds

Each field is `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (a to the field's end), or a
comma list of those; months and weekdays also by name (`JAN`–`DEC`, `SUN`–`SAT`), weekday 7 is Sunday,
`?` is `*` in the day fields.  `@yearly`, `@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly`
stand for their 5-field forms.  Day-of-month and day-of-week: when both are restricted (neither `*` nor
`?`), a day matching either fires (Vixie cron, robfig); otherwise both must match.

Times are wall-clock times in the schedule's IANA time zone.  On the day clocks go forward, a time the
clock skips fires as much later as the clock skipped (02:30 → 03:30, PEP 495's reading); on the day they
go back, a time that occurs twice fires once, the first time.  `CronError` messages name the field, the
text and the rule broken, fit for a 422 answer.
"""
from __future__ import annotations

import bisect
import calendar
import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
ONE_SECOND = timedelta(seconds=1)
HORIZON_YEARS = 9  # February 29 comes back within 8 years (2096 → 2104); nothing rarer can match

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MONTHS = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)


SECOND = _Field("second", 0, 59)
MINUTE = _Field("minute", 0, 59)
HOUR = _Field("hour", 0, 23)
DAY = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, MONTHS)
WEEKDAY = _Field("day-of-week", 0, 7, WEEKDAYS)  # 7 = Sunday, folded to 0
FIVE = (MINUTE, HOUR, DAY, MONTH, WEEKDAY)
SIX = (SECOND,) + FIVE


class CronError(ValueError):
    """The expression or time zone cannot be used; the message says which field and why."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (`UTC`, `Europe/Paris`), or CronError."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", name or ""):
        raise CronError(f"{name!r} is not an IANA time zone name such as UTC or Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Paris") from None


@dataclass(frozen=True)
class Cron:
    """A parsed expression in a time zone. `next_after` and `latest_at_or_before` give fire times in UTC."""

    expression: str
    timezone: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday
    day_or: bool  # both day fields restricted: either may match
    tz: ZoneInfo = field(repr=False, compare=False, hash=False)

    @property
    def has_seconds(self) -> bool:
        return len(self.expression.split()) == 6

    # -- matching --------------------------------------------------------------------------------

    def _day_ok(self, year: int, month: int, day: int) -> bool:
        dom = day in self._day_set
        dow = (calendar.weekday(year, month, day) + 1) % 7 in self._weekday_set
        return (dom or dow) if self.day_or else (dom and dow)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_day_set", frozenset(self.days))
        object.__setattr__(self, "_weekday_set", frozenset(self.weekdays))
        object.__setattr__(self, "_utc", self.timezone in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu"))
        for name in ("seconds", "minutes", "hours", "months"):
            object.__setattr__(self, f"_{name}_set", frozenset(getattr(self, name)))

    def _next_wall(self, w: datetime) -> datetime | None:
        """The first matching wall-clock time at or after the naive `w` (whole seconds), or None."""
        limit = w.year + HORIZON_YEARS
        months, hours, minutes, seconds = self.months, self.hours, self.minutes, self.seconds
        while w.year <= limit:
            if w.month not in self._months_set:
                i = bisect.bisect_left(months, w.month)
                w = datetime(w.year + 1, months[0], 1) if i == len(months) else datetime(w.year, months[i], 1)
                continue
            if not self._day_ok(w.year, w.month, w.day):
                w = datetime(w.year, w.month, w.day) + timedelta(days=1)
                continue
            if w.hour not in self._hours_set:
                i = bisect.bisect_left(hours, w.hour)
                if i == len(hours):
                    w = datetime(w.year, w.month, w.day) + timedelta(days=1)
                    continue
                w = w.replace(hour=hours[i], minute=0, second=0)
            if w.minute not in self._minutes_set:
                i = bisect.bisect_left(minutes, w.minute)
                if i == len(minutes):
                    w = w.replace(minute=0, second=0) + timedelta(hours=1)
                    continue
                w = w.replace(minute=minutes[i], second=0)
            if w.second not in self._seconds_set:
                i = bisect.bisect_left(seconds, w.second)
                if i == len(seconds):
                    w = w.replace(second=0) + timedelta(minutes=1)
                    continue
                w = w.replace(second=seconds[i])
            return w
        return None

    def _prev_wall(self, w: datetime) -> datetime | None:
        """The last matching wall-clock time at or before the naive `w` (whole seconds), or None."""
        limit = w.year - HORIZON_YEARS
        months, hours, minutes, seconds = self.months, self.hours, self.minutes, self.seconds
        while w.year >= limit:
            if w.month not in self._months_set:
                i = bisect.bisect_right(months, w.month) - 1
                year = w.year - 1 if i < 0 else w.year
                month = months[i]
                w = datetime(year, month, calendar.monthrange(year, month)[1], 23, 59, 59)
                continue
            if not self._day_ok(w.year, w.month, w.day):
                w = datetime(w.year, w.month, w.day) - ONE_SECOND
                continue
            if w.hour not in self._hours_set:
                i = bisect.bisect_right(hours, w.hour) - 1
                if i < 0:
                    w = datetime(w.year, w.month, w.day) - ONE_SECOND
                    continue
                w = w.replace(hour=hours[i], minute=59, second=59)
            if w.minute not in self._minutes_set:
                i = bisect.bisect_right(minutes, w.minute) - 1
                if i < 0:
                    w = w.replace(minute=0, second=0) - ONE_SECOND
                    continue
                w = w.replace(minute=minutes[i], second=59)
            if w.second not in self._seconds_set:
                i = bisect.bisect_right(seconds, w.second) - 1
                if i < 0:
                    w = w.replace(second=0) - ONE_SECOND
                    continue
                w = w.replace(second=seconds[i])
            return w
        return None

    def _instant(self, wall: datetime) -> datetime:
        if self._utc:
            return wall.replace(tzinfo=UTC)
        return wall.replace(tzinfo=self.tz, fold=0).astimezone(UTC)

    def _wall(self, t: datetime) -> datetime:
        if t.tzinfo is None:
            raise ValueError("fire times are computed from aware datetimes")
        if self._utc:
            return t.astimezone(UTC).replace(tzinfo=None, microsecond=0, fold=0)
        return t.astimezone(self.tz).replace(tzinfo=None, microsecond=0, fold=0)

    # -- fire times ------------------------------------------------------------------------------

    def next_after(self, t: datetime) -> datetime | None:
        """The first fire time strictly after `t` (aware), in UTC; None if there is none within 9 years."""
        wall = self._wall(t) + ONE_SECOND
        while True:
            w = self._next_wall(wall)
            if w is None:
                return None
            instant = self._instant(w)
            if instant > t:
                return instant
            wall = w + ONE_SECOND  # the second pass of a repeated hour: that wall time already fired

    def latest_at_or_before(self, t: datetime) -> datetime | None:
        """The last fire time at or before `t` (aware), in UTC: the slot a firing at `t` belongs to."""
        wall = self._wall(t)
        while True:
            w = self._prev_wall(wall)
            if w is None:
                return None
            instant = self._instant(w)
            if instant <= t:
                return instant
            wall = w - ONE_SECOND  # a skipped wall time that maps after `t`

    def between(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Fire times in (after, until], oldest first, at most `limit`."""
        out: list[datetime] = []
        t = after
        while len(out) < limit:
            t = self.next_after(t)
            if t is None or t > until:
                break
            out.append(t)
        return out


# -- parsing ----------------------------------------------------------------------------------------

def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _value(text: str, f: _Field, where: str) -> int:
    upper = text.upper()
    if upper in f.names:
        return f.names[upper]
    if re.fullmatch(r"[0-9]*(L|W|LW)|[0-9]+#[0-9]+", upper):
        raise CronError(f"{where}: L, W and # are not supported")
    if not re.fullmatch(r"[0-9]+", text):
        names = f" or a name ({', '.join(f.names)})" if f.names else ""
        raise CronError(f"{where}: {text!r} is not a number{names}")
    value = int(text)
    if not f.low <= value <= f.high:
        raise CronError(f"{where}: {value} is out of range {f.low}-{f.high}")
    return value


def _field(text: str, f: _Field, where: str) -> tuple[set[int], bool]:
    """The values a field allows, and whether it is a star (unrestricted: `*` or `?` without a step)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"{where}: empty item in list {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not re.fullmatch(r"[0-9]+", step_text) or int(step_text) == 0:
                raise CronError(f"{where}: step {step_text!r} in {part!r} must be a whole number of at least 1")
            step = int(step_text)
        if base in ("*", "?"):
            if base == "?" and f not in (DAY, WEEKDAY):
                raise CronError(f"{where}: '?' is only allowed in the day-of-month and day-of-week fields")
            low, high = f.low, (6 if f is WEEKDAY else f.high)
            star = star or step == 1
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, f, where), _value(last, f, where)
            if low > high:
                raise CronError(f"{where}: range {base!r} runs backwards (write {last}-{first}, or two ranges)")
        else:
            low = _value(base, f, where)
            high = (6 if f is WEEKDAY else f.high) if slash else low
        values.update(range(low, high + 1, step))
    if f is WEEKDAY and 7 in values:
        values.discard(7)
        values.add(0)
    return values, star


def parse(expression: str, timezone_name: str = "UTC") -> Cron:
    """A `Cron` for the expression in that time zone, or CronError (which field, what is wrong)."""
    if not isinstance(expression, str) or not expression.strip():
        raise CronError("the schedule is empty: give 5 fields (minute hour day-of-month month day-of-week), "
                        "or 6 with seconds first, e.g. \"0 1 * * *\"")
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise CronError(f"unknown macro {text!r}: use one of {', '.join(MACROS)}")
        fields_text = MACROS[text.lower()].split()
    else:
        fields_text = text.split()
    if len(fields_text) not in (5, 6):
        raise CronError(f"{len(fields_text)} fields in {text!r}: give 5 (minute hour day-of-month month "
                        "day-of-week), or 6 with seconds first (second minute hour day-of-month month day-of-week)")
    specs = SIX if len(fields_text) == 6 else FIVE
    parsed: dict[str, tuple[set[int], bool]] = {}
    for number, (part, f) in enumerate(zip(fields_text, specs), start=1):
        where = f"the {f.name} field ({_ordinal(number)} of {len(specs)}) {part!r}"
        parsed[f.name] = _field(part, f, where)
    seconds = parsed["second"][0] if "second" in parsed else {0}
    (days, dom_star), (weekdays, dow_star) = parsed["day-of-month"], parsed["day-of-week"]
    cron = Cron(expression=text, timezone=timezone_name, seconds=tuple(sorted(seconds)),
                minutes=tuple(sorted(parsed["minute"][0])), hours=tuple(sorted(parsed["hour"][0])),
                days=tuple(sorted(days)), months=tuple(sorted(parsed["month"][0])),
                weekdays=tuple(sorted(weekdays)), day_or=not dom_star and not dow_star, tz=zone(timezone_name))
    if cron._next_wall(datetime(2000, 1, 1)) is None:
        raise CronError(f"{text!r} never fires: no day matches its day-of-month and month fields")
    return cron


@functools.lru_cache(maxsize=16384)
def parse_cached(expression: str, timezone_name: str = "UTC") -> Cron:
    """`parse`, remembered: beat decodes every due entry on every tick (a `Cron` is immutable)."""
    return parse(expression, timezone_name)
