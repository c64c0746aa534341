"""Writes the data files of the example task `time-functions.yaml` (kept in the repository; run
again only to change them): small Python functions on clock times ('HH:MM' strings, 12-hour
times, opening hours), durations (seconds, 'H:MM:SS' and 'M:SS' texts, lists of them) and
calendar dates (leap years, days in a month, day of the year, weekdays, 'YYYY-MM-DD' dates),
given by a signature and a sentence saying what the function does, with one example call; the
output is the function's code, checked by unit tests:

    Function: shift_time(t, delta)
    Does: Returns the 'HH:MM' time (two-digit hours) delta minutes after the 'HH:MM' time t,
    wrapping past midnight; for example shift_time('15:50', 242) returns '19:52'.
    Code:
    def shift_time(t, delta):
        h, m = map(int, t.split(':'))
        total = (h * 60 + m + delta) % 1440
        return '%02d:%02d' % (total // 60, total % 60)

    python docs/examples/time-functions/make_data.py

Each record has `signature`, `description` (what it does, with an example), `tests` (three
assertions with messages, run after the output in the same program, so a failing one is the
value's feedback: "AssertionError: shift_time('23:50', 20) returned '24:10', expected
'00:10'"), `solution` (a reference function that imports nothing: no datetime, no calendar),
`kind` (clock, duration or calendar) and `family` (which of the function templates it comes
from; test.jsonl adds an `id`). The expected values are worked out here apart from the
reference bodies, with datetime where it helps, and the tests of each record are drawn so that
the usual near misses fail one (a time past midnight, 12 AM and 12 PM, a century year).
Half of the 64 families have a one-line body (an 'HH:MM' string from its parts, a unit
conversion, a weekday test), the rest parse and reckon over a few lines; SmolLM2-135M,
three-shot and greedy, solves about a tenth of the validation records. train.jsonl
holds 2000 records, validation.jsonl and test.jsonl 300 each, shots.jsonl three solved
examples, one of each kind (from the families in SHOWN). No description is in two files.
"""

from __future__ import annotations

import datetime
import math
import random
from pathlib import Path
from string import Template
from typing import Callable, NamedTuple

from correct.tasks.make import distinct, one_of_each, split, write_files

HERE = Path(__file__).parent
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
MONTH_NAMES = [datetime.date(2001, m, 1).strftime("%B") for m in range(1, 13)]


# --- the right answers, worked out apart from the reference bodies ---------------------------


def minutes(t: str) -> int:
    """'HH:MM' (or 'H:MM') -> minutes since midnight."""
    h, m = t.split(":")
    return int(h) * 60 + int(m)


def clock(n: int) -> str:
    """Minutes since midnight (any whole number) -> 'HH:MM', wrapped into one day."""
    n %= 1440
    return f"{n // 60:02d}:{n % 60:02d}"


def time_of(t: str) -> datetime.time:
    return datetime.time(*map(int, t.split(":")))


def to_12(t: str, style: str) -> str:
    """'HH:MM' -> '3:05 PM' (style 'upper') or '3:05pm' (style 'lower')."""
    text = time_of(t).strftime("%I:%M %p").lstrip("0")
    return text if style == "upper" else text.replace(" ", "").lower()


def from_12(s: str) -> str:
    s = s.upper().replace("AM", " AM").replace("PM", " PM").replace("  ", " ")
    return datetime.datetime.strptime(s, "%I:%M %p").strftime("%H:%M")


def is_leap(y: int) -> bool:
    try:
        datetime.date(y, 2, 29)
        return True
    except ValueError:
        return False


def month_days(m: int, y: int = 2001) -> int:
    return ((datetime.date(y + m // 12, m % 12 + 1, 1)) - datetime.date(y, m, 1)).days


def year_day(m: int, d: int, y: int = 2001) -> int:
    return datetime.date(y, m, d).timetuple().tm_yday


def hms(n: int) -> str:
    return str(datetime.timedelta(seconds=n))  # 'H:MM:SS' below a day


# --- drawing inputs --------------------------------------------------------------------------


def any_time(rng: random.Random) -> str:
    return clock(rng.randrange(1440))


def late_time(rng: random.Random) -> str:
    return clock(rng.randrange(20 * 60, 1440))


def two_times(rng: random.Random) -> tuple[str, str]:
    a, b = sorted(rng.sample(range(1440), 2))
    return clock(a), clock(b)


def overnight(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.6:
        return clock(rng.randrange(19 * 60, 1440)), clock(rng.randrange(0, 10 * 60))
    return two_times(rng)


def some_year(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.25:
        return rng.choice([1700, 1800, 1900, 2100, 2200, 2300, 1600, 2000, 2400])
    if r < 0.55:
        return rng.randrange(1804, 2100, 4)
    return rng.randint(1801, 2099)


def some_date(rng: random.Random, leap_ok: bool = True) -> datetime.date:
    year = some_year(rng) if leap_ok else rng.choice([2019, 2021, 2022, 2023, 2025])
    if rng.random() < 0.4:  # the last day of a month, where a next day changes month or year
        m = rng.randint(1, 12)
        return datetime.date(year, m, month_days(m, year))
    return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))


def durations(rng: random.Random, low: int, high: int, fmt: Callable[[int], str]) -> list[str]:
    return [fmt(rng.randint(low, high)) for _ in range(rng.randint(2, 4))]


def h_mm(n: int) -> str:
    return f"{n // 60}:{n % 60:02d}"


def m_ss(n: int) -> str:
    return f"{n // 60}:{n % 60:02d}"


# --- the templates ---------------------------------------------------------------------------


class Family(NamedTuple):
    kind: str
    """clock, duration or calendar."""
    names: list[tuple[str, str]]
    """(function name, its arguments) to choose from; ``$k`` and the like are the constants."""
    does: str
    """What the function does: ``$a``, ``$b``, ``$c`` are the arguments, ``$k``... the constants."""
    body: str
    """The reference body, written with the same placeholders."""
    expected: Callable
    """(arguments as a tuple, constants) -> the right result."""
    draw: Callable
    """(rng, constants) -> the arguments of one call, as a tuple."""
    consts: Callable = lambda rng: {}
    """rng -> the record's constants (strings and numbers)."""
    need: Callable = lambda calls, c: True
    """(the three tested argument tuples, constants) -> whether they catch the usual near misses."""


def round_to(t: str, k: int, how: str) -> str:
    n = minutes(t)
    if how == "down":
        return clock(n - n % k)
    if how == "up":
        return clock(-(-n // k) * k)
    return clock(math.floor(n / k + 0.5) * k)


ROUND_BODY = {
    "nearest": "    total = (h * 60 + m + $half) // $k * $k % 1440",
    "down": "    total = (h * 60 + m) // $k * $k",
    "up": "    total = -(-(h * 60 + m) // $k) * $k % 1440",
}
ROUND_DOES = {
    "nearest": "to the nearest multiple of $k minutes (halves round up)",
    "down": "down to a multiple of $k minutes",
    "up": "up to a multiple of $k minutes",
}


def rounding(rng: random.Random) -> dict:
    how = rng.choice(["nearest", "nearest", "down", "up"])
    k = rng.choice([5, 10, 15, 15, 20, 30])
    return {"k": k, "half": k // 2, "how": how, "hows": ROUND_DOES[how].replace("$k", str(k))}


def opening(rng: random.Random) -> dict:
    o = rng.randint(6 * 4, 11 * 4) * 15
    c = rng.randint(16 * 4, 22 * 4) * 15
    return {"o": clock(o), "z": clock(c)}


def night(rng: random.Random) -> dict:
    o = rng.randint(19 * 2, 23 * 2) * 30
    c = rng.randint(4 * 2, 8 * 2) * 30
    return {"o": clock(o), "z": clock(c)}


def near(rng: random.Random, c: dict, edges: list[str]) -> tuple:
    """A time often just at, just before or after one of ``edges``."""
    if rng.random() < 0.5:
        return (clock(minutes(rng.choice(edges)) + rng.choice([-1, 0, 0, 1])),)
    return (any_time(rng),)


def in_interval(t: str, o: str, c: str) -> bool:
    if o <= c:
        return o <= t < c
    return t >= o or t < c


def day_shift(d: str, n: int, style: str) -> str:
    names = DAYS if style == "full" else [x[:3] for x in DAYS]
    return names[(names.index(d) + n) % 7]


def weekday_draw(rng: random.Random, c: dict) -> tuple:
    names = DAYS if c["style"] == "full" else [x[:3] for x in DAYS]
    return rng.choice(names), rng.randint(1, 40)


DAYS_LIST = "['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']"
ABBR_LIST = "['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']"
MONTHS_LIST = "[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]"
LEAP = "$a % 4 == 0 and ($a % 100 != 0 or $a % 400 == 0)"
FEB = "    feb = 29 if $y % 4 == 0 and ($y % 100 != 0 or $y % 400 == 0) else 28\n"
"""The length of February in the year ``$y`` (a line of a body)."""
LEAP_LIST = "[31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]"


def style(rng: random.Random) -> dict:
    s = rng.choice(["full", "short"])
    return {
        "style": s,
        "list": DAYS_LIST if s == "full" else ABBR_LIST,
        "names": "an English weekday name ('Monday' to 'Sunday')"
        if s == "full"
        else "a three-letter weekday ('Mon' to 'Sun')",
    }


def twelve_input(rng: random.Random, c: dict) -> tuple:
    r = rng.random()
    t = clock(rng.choice([0, 12 * 60]) + rng.randrange(60)) if r < 0.35 else any_time(rng)
    return (to_12(t, c["style"]),)


def twelve_need(calls: list, c: dict) -> bool:
    hours = [from_12(x[0])[:2] for x in calls]
    return any(h in ("00", "12") for h in hours) and any(h > "12" for h in hours)


def to24_need(calls: list, c: dict) -> bool:
    hours = [x[0][:2] for x in calls]
    return any(h in ("00", "12") for h in hours) and any(h > "12" for h in hours)


def next_day(s: str) -> str:
    """'MM-DD' -> the next day's, in a year that is not a leap year."""
    return (datetime.date.fromisoformat(f"2001-{s}") + datetime.timedelta(days=1)).strftime("%m-%d")


def leap_need(calls: list, c: dict) -> bool:
    years = [x[-1] for x in calls]
    return any(y % 100 == 0 for y in years) and any(is_leap(y) for y in years)


def valid_date(rng: random.Random, c: dict) -> tuple:
    y = some_year(rng)
    m = rng.randint(1, 13 if rng.random() < 0.15 else 12)
    d = rng.choice([29, 30, 31, rng.randint(1, 28), rng.randint(0, 32)])
    return y, m, d


def valid(y: int, m: int, d: int) -> bool:
    try:
        datetime.date(y, m, d)
        return True
    except ValueError:
        return False


def birthday(rng: random.Random, c: dict) -> tuple:
    b = datetime.date(rng.randint(1950, 2010), rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.5:
        today = datetime.date(rng.randint(2015, 2030), b.month, b.day) + datetime.timedelta(days=rng.choice([-1, 0, 1]))
    else:
        today = datetime.date(rng.randint(2015, 2030), rng.randint(1, 12), rng.randint(1, 28))
    return (b.year, b.month, b.day), (today.year, today.month, today.day)


def age(b: tuple, t: tuple) -> int:
    years = t[0] - b[0]
    return years - 1 if (t[1], t[2]) < (b[1], b[2]) else years


UNITS = [
    ("hours", "minutes", 60),
    ("minutes", "seconds", 60),
    ("hours", "seconds", 3600),
    ("days", "hours", 24),
    ("weeks", "days", 7),
    ("days", "minutes", 1440),
]


def units(rng: random.Random) -> dict:
    big, small, f = rng.choice(UNITS)
    return {"big": big, "small": small, "f": f}


def some_count(rng: random.Random, c: dict) -> tuple:
    """A number of the small unit: often a whole number of the big one, else up to 20 of them."""
    f = c["f"]
    return (rng.randint(1, 12) * f if rng.random() < 0.25 else rng.randint(1, 20 * f),)


def mixed(calls: list, c: dict) -> bool:
    return any(n % c["f"] for (n,) in calls)


def cutoff(rng: random.Random) -> dict:
    k = clock(rng.randint(6 * 4, 22 * 4) * 15)
    return {
        "k": k,
        **rng.choice(
            [{"op": "<", "rel": "before", "word": "early"}, {"op": ">=", "rel": "at or after", "word": "late"}]
        ),
    }


SHOWN = {"minute_of_day", "format_hms", "weekday_after"}
"""The families the three shots come from: one of each kind, showing the usual idioms (split
and map, divmod, '%02d' formatting, a list of month lengths)."""

FAMILIES: dict[str, Family] = {
    # ---- clock ----
    "minutes_between": Family(
        "clock",
        [("minutes_between", "start, end"), ("gap_minutes", "t1, t2"), ("elapsed", "begin, finish")],
        "returns the number of minutes from the 'HH:MM' time $a to the later 'HH:MM' time $b of the same day",
        "    h1, m1 = map(int, $a.split(':'))\n    h2, m2 = map(int, $b.split(':'))\n"
        "    return (h2 * 60 + m2) - (h1 * 60 + m1)",
        lambda x, c: minutes(x[1]) - minutes(x[0]),
        lambda rng, c: two_times(rng),
        need=lambda calls, c: any(minutes(b) % 60 < minutes(a) % 60 for a, b in calls),
    ),
    "overnight": Family(
        "clock",
        [("sleep_minutes", "bedtime, wake"), ("shift_length", "start, end"), ("minutes_until", "now, then")],
        "returns the number of minutes from the 'HH:MM' time $a to the 'HH:MM' time $b; when $b is earlier"
        " than $a it is on the next day",
        "    h1, m1 = map(int, $a.split(':'))\n    h2, m2 = map(int, $b.split(':'))\n"
        "    return ((h2 * 60 + m2) - (h1 * 60 + m1)) % 1440",
        lambda x, c: (minutes(x[1]) - minutes(x[0])) % 1440,
        lambda rng, c: overnight(rng),
        need=lambda calls, c: any(b < a for a, b in calls) and any(b > a for a, b in calls),
    ),
    "add_minutes": Family(
        "clock",
        [("add_minutes", "start, n"), ("later", "clock, mins"), ("shift_time", "t, delta"), ("alarm_at", "now, delay")],
        "returns the 'HH:MM' time (two-digit hours) $b minutes after the 'HH:MM' time $a, wrapping past midnight",
        "    h, m = map(int, $a.split(':'))\n    total = (h * 60 + m + $b) % 1440\n"
        "    return '%02d:%02d' % (total // 60, total % 60)",
        lambda x, c: clock(minutes(x[0]) + x[1]),
        lambda rng, c: (any_time(rng) if rng.random() < 0.5 else late_time(rng), rng.randint(5, 300)),
        need=lambda calls, c: any(minutes(t) + n >= 1440 for t, n in calls),
    ),
    "add_fixed": Family(
        "clock",
        [("plus_$k", "t"), ("after_${k}_minutes", "t"), ("ends_at", "start")],
        "returns the 'HH:MM' time (two-digit hours) $k minutes after the 'HH:MM' time $a, wrapping past midnight",
        "    h, m = map(int, $a.split(':'))\n    total = (h * 60 + m + $k) % 1440\n"
        "    return '%02d:%02d' % (total // 60, total % 60)",
        lambda x, c: clock(minutes(x[0]) + c["k"]),
        lambda rng, c: (clock(rng.randrange(1440 - c["k"] - 60, 1440)) if rng.random() < 0.4 else any_time(rng),),
        lambda rng: {"k": rng.choice([15, 20, 25, 40, 45, 50, 75, 90, 105, 150])},
        need=lambda calls, c: any(minutes(t) + c["k"] >= 1440 for (t,) in calls),
    ),
    "subtract_minutes": Family(
        "clock",
        [("minutes_before", "t, n"), ("earlier", "clock, mins"), ("leave_at", "arrival, travel")],
        "returns the 'HH:MM' time (two-digit hours) $b minutes before the 'HH:MM' time $a, going back past midnight"
        " to the day before",
        "    h, m = map(int, $a.split(':'))\n    total = (h * 60 + m - $b) % 1440\n"
        "    return '%02d:%02d' % (total // 60, total % 60)",
        lambda x, c: clock(minutes(x[0]) - x[1]),
        lambda rng, c: (clock(rng.randrange(0, 180)) if rng.random() < 0.4 else any_time(rng), rng.randint(5, 240)),
        need=lambda calls, c: any(minutes(t) < n for t, n in calls),
    ),
    "to_24h": Family(
        "clock",
        [("to_24h", "s"), ("to_24_hour", "text"), ("military_time", "t"), ("convert_12_to_24", "clock")],
        "converts the 12-hour time $a, written like $like, to a 24-hour 'HH:MM' string with two-digit hours"
        " (12 AM is hour 00, 12 PM is hour 12)",
        "$parse\n    return '%02d:%02d' % (h % 12 + (12 if $pm else 0), m)",
        lambda x, c: from_12(x[0]),
        twelve_input,
        lambda rng: rng.choice(
            [
                {
                    "style": "upper",
                    "like": "'3:05 PM'",
                    "parse": "    hm, half = $a.split()\n    h, m = map(int, hm.split(':'))",
                    "pm": "half == 'PM'",
                },
                {
                    "style": "lower",
                    "like": "'3:05pm'",
                    "parse": "    h, m = map(int, $a[:-2].split(':'))",
                    "pm": "$a.endswith('pm')",
                },
            ]
        ),
        twelve_need,
    ),
    "to_12h": Family(
        "clock",
        [("to_12h", "t"), ("to_12_hour", "when"), ("am_pm", "clock"), ("friendly_time", "hhmm")],
        "converts the 24-hour 'HH:MM' time $a to a 12-hour time written like $like, hours without a leading zero"
        " (hour 00 is 12 AM, hour 12 is 12 PM)",
        "    h, m = map(int, $a.split(':'))\n    half = $am if h < 12 else $pm\n"
        "    return '%d:%02d$space%s' % (h % 12 or 12, m, half)",
        lambda x, c: to_12(x[0], c["style"]),
        lambda rng, c: (from_12(twelve_input(rng, c)[0]),),
        lambda rng: rng.choice(
            [
                {"style": "upper", "like": "'3:05 PM'", "am": "'AM'", "pm": "'PM'", "space": " "},
                {"style": "lower", "like": "'3:05pm'", "am": "'am'", "pm": "'pm'", "space": ""},
            ]
        ),
        to24_need,
    ),
    "open_now": Family(
        "clock",
        [("is_open", "t"), ("shop_open", "at"), ("within_hours", "clock"), ("can_visit", "now")],
        "returns True if the 'HH:MM' time $a is within the opening hours $o to $z ($o included, $z excluded),"
        " else False",
        "    return '$o' <= $a < '$z'",
        lambda x, c: in_interval(x[0], c["o"], c["z"]),
        lambda rng, c: near(rng, c, [c["o"], c["z"]]),
        opening,
        lambda calls, c: len({in_interval(t, c["o"], c["z"]) for (t,) in calls}) == 2,
    ),
    "night_shift": Family(
        "clock",
        [("on_night_shift", "t"), ("is_night", "moment"), ("quiet_hours", "clock")],
        "returns True if the 'HH:MM' time $a is within the night from $o to $z the next morning ($o included,"
        " $z excluded), else False",
        "    return $a >= '$o' or $a < '$z'",
        lambda x, c: in_interval(x[0], c["o"], c["z"]),
        lambda rng, c: near(rng, c, [c["o"], c["z"], "00:00", "12:00"]),
        night,
        lambda calls, c: len({in_interval(t, c["o"], c["z"]) for (t,) in calls}) == 2,
    ),
    "in_range": Family(
        "clock",
        [("between", "t, start, end"), ("in_window", "when, opens, closes"), ("during", "now, begin, finish")],
        "returns True if the 'HH:MM' time $a is from the 'HH:MM' time $b (included) to the 'HH:MM' time $c"
        " (excluded); $c may be earlier than $b, when the interval runs past midnight",
        "    if $b <= $c:\n        return $b <= $a < $c\n    return $a >= $b or $a < $c",
        lambda x, c: in_interval(*x),
        lambda rng, c: (any_time(rng), *(two_times(rng) if rng.random() < 0.5 else overnight(rng)[::-1])),
        need=lambda calls, c: len({in_interval(*x) for x in calls}) == 2 and any(b > e for _, b, e in calls),
    ),
    "round_time": Family(
        "clock",
        [("round_time", "t"), ("snap", "when"), ("round_clock", "clock"), ("to_slot", "hhmm")],
        "rounds the 'HH:MM' time $a $hows and returns it as 'HH:MM' (two-digit hours; 24:00 is 00:00)",
        "    h, m = map(int, $a.split(':'))\n$round\n    return '%02d:%02d' % (total // 60, total % 60)",
        lambda x, c: round_to(x[0], c["k"], c["how"]),
        lambda rng, c: (clock(1440 - rng.randint(1, 4)) if rng.random() < 0.2 else any_time(rng),),
        lambda rng: (lambda d: {**d, "round": Template(ROUND_BODY[d["how"]]).substitute(d)})(rounding(rng)),
        lambda calls, c: (
            c["how"] != "nearest"
            or len({round_to(t, c["k"], "down") == round_to(t, c["k"], "nearest") for (t,) in calls}) == 2
        ),
    ),
    "minute_of_day": Family(
        "clock",
        [("to_minutes", "t"), ("minute_of_day", "clock"), ("since_midnight", "moment")],
        "returns the number of minutes from midnight to the 'HH:MM' time $a",
        "    h, m = map(int, $a.split(':'))\n    return h * 60 + m",
        lambda x, c: minutes(x[0]),
        lambda rng, c: (any_time(rng),),
    ),
    "seconds_of_day": Family(
        "clock",
        [("to_seconds", "t"), ("second_of_day", "stamp"), ("seconds_since_midnight", "when")],
        "returns the number of seconds from midnight to the 'HH:MM:SS' time $a",
        "    h, m, s = map(int, $a.split(':'))\n    return h * 3600 + m * 60 + s",
        lambda x, c: minutes(x[0][:5]) * 60 + int(x[0][6:]),
        lambda rng, c: (f"{any_time(rng)}:{rng.randrange(60):02d}",),
    ),
    "from_minutes": Family(
        "clock",
        [("clock_time", "n"), ("from_minutes", "minutes"), ("as_clock", "mins")],
        "returns the 'HH:MM' time (two-digit hours) that is $a minutes after midnight; $a may be more than a day,"
        " when the clock wraps around",
        "    $a %= 1440\n    return '%02d:%02d' % ($a // 60, $a % 60)",
        lambda x, c: clock(x[0]),
        lambda rng, c: (rng.randrange(0, 4000),),
        need=lambda calls, c: any(n >= 1440 for (n,) in calls),
    ),
    "earliest": Family(
        "clock",
        [
            ("$which", "times"),
            ("${which}_arrival", "arrivals"),
            ("${which}_departure", "departures"),
            ("${which}_time", "clocks"),
        ],
        "returns the $which time of the list $a of times written like '9:05' and '13:40' (hours without a"
        " leading zero)",
        "    return $fn($a, key=lambda t: int(t.split(':')[0]) * 60 + int(t.split(':')[1]))",
        lambda x, c: (min if c["fn"] == "min" else max)(x[0], key=minutes),
        lambda rng, c: ([h_mm(n) for n in rng.sample(range(6 * 60, 20 * 60), rng.randint(2, 4))],),
        lambda rng: rng.choice([{"which": "earliest", "fn": "min"}, {"which": "latest", "fn": "max"}]),
        lambda calls, c: any(
            (min if c["fn"] == "min" else max)(ts, key=minutes) != (min if c["fn"] == "min" else max)(ts)
            for (ts,) in calls
        ),
    ),
    "clock_part": Family(
        "clock",
        [("get_${part}s", "t"), ("${part}s_of", "clock"), ("${part}_part", "when")],
        "returns the ${part}s of the 'HH:MM' time $a (the number $where the colon) as a whole number",
        "    return int($a.split(':')[$i])",
        lambda x, c: int(x[0].split(":")[c["i"]]),
        lambda rng, c: (any_time(rng),),
        lambda rng: rng.choice(
            [{"part": "hour", "where": "before", "i": 0}, {"part": "minute", "where": "after", "i": 1}]
        ),
    ),
    "cutoff": Family(
        "clock",
        [("is_${word}", "t"), ("${word}_arrival", "arrival"), ("too_${word}", "when")],
        "returns True if the 'HH:MM' time $a is $rel $k, else False",
        "    return $a $op '$k'",
        lambda x, c: (x[0] < c["k"]) == (c["op"] == "<"),
        lambda rng, c: near(rng, c, [c["k"]]),
        cutoff,
    ),
    "is_earlier": Family(
        "clock",
        [("is_earlier", "t1, t2"), ("comes_first", "a, b"), ("before", "first, second")],
        "returns True if the 'HH:MM' time $a is earlier in the day than the 'HH:MM' time $b, else False",
        "    return $a < $b",
        lambda x, c: minutes(x[0]) < minutes(x[1]),
        lambda rng, c: (any_time(rng), any_time(rng)),
    ),
    "make_time": Family(
        "clock",
        [("make_time", "h, m"), ("format_clock", "hours, minutes"), ("hhmm", "hour, minute")],
        "returns the time of hour $a (0 to 23) and minute $b as an 'HH:MM' string with two-digit hours and minutes",
        "    return '%02d:%02d' % ($a, $b)",
        lambda x, c: f"{x[0]:02d}:{x[1]:02d}",
        lambda rng, c: (rng.randrange(24), rng.randrange(60)),
        need=lambda calls, c: any(h < 10 for h, m in calls) and any(m < 10 for h, m in calls),
    ),
    "make_hms": Family(
        "clock",
        [("make_hms", "h, m, s"), ("clock_text", "hours, minutes, seconds"), ("timestamp", "hour, minute, second")],
        "returns the time of hour $a (0 to 23), minute $b and second $c as an 'HH:MM:SS' string, each part with two"
        " digits",
        "    return '%02d:%02d:%02d' % ($a, $b, $c)",
        lambda x, c: datetime.time(*x).isoformat(),
        lambda rng, c: (rng.randrange(24), rng.randrange(60), rng.randrange(60)),
        need=lambda calls, c: any(min(x) < 10 for x in calls),
    ),
    "sort_times": Family(
        "clock",
        [("sort_times", "times"), ("in_order", "clocks"), ("timetable", "departures")],
        "returns the list $a of 'HH:MM' times sorted from the $first to the $last",
        "    return sorted($a$rev)",
        lambda x, c: sorted(x[0], key=minutes, reverse=c["rev"] != ""),
        lambda rng, c: ([any_time(rng) for _ in range(rng.randint(2, 5))],),
        lambda rng: rng.choice(
            [
                {"first": "earliest", "last": "latest", "rev": ""},
                {"first": "latest", "last": "earliest", "rev": ", reverse=True"},
            ]
        ),
    ),
    "later_of": Family(
        "clock",
        [("${which}_of", "t1, t2"), ("$which", "a, b"), ("pick_$which", "first, second")],
        "returns the $which of the two 'HH:MM' times $a and $b",
        "    return $fn($a, $b)",
        lambda x, c: (min if c["fn"] == "min" else max)(x, key=minutes),
        lambda rng, c: tuple(rng.sample([any_time(rng) for _ in range(3)], 2)),
        lambda rng: rng.choice([{"which": "earlier", "fn": "min"}, {"which": "later", "fn": "max"}]),
    ),
    "hour_after": Family(
        "clock",
        [("hour_$rel", "hour, n"), ("shift_hour", "h, hours"), ("clock_hour", "start, k")],
        "returns the hour (0 to 23) of a 24-hour clock $b hours $rel the hour $a, going round past midnight",
        "    return ($a $op $b) % 24",
        lambda x, c: (x[0] + x[1] * (1 if c["op"] == "+" else -1)) % 24,
        lambda rng, c: (rng.randrange(24), rng.randint(1, 30)),
        lambda rng: rng.choice([{"rel": "after", "op": "+"}, {"rel": "before", "op": "-"}]),
        lambda calls, c: any(not 0 <= h + n * (1 if c["op"] == "+" else -1) < 24 for h, n in calls),
    ),
    # ---- duration ----
    "format_hms": Family(
        "duration",
        [("format_duration", "seconds"), ("hms", "secs"), ("stopwatch", "n"), ("as_hms", "total")],
        "returns the number of seconds $a written as 'H:MM:SS' (hours without a leading zero, minutes and"
        " seconds with two digits)",
        "    h, rest = divmod($a, 3600)\n    m, s = divmod(rest, 60)\n    return '%d:%02d:%02d' % (h, m, s)",
        lambda x, c: hms(x[0]),
        lambda rng, c: (rng.randrange(0, 40000),),
        need=lambda calls, c: any(n >= 3600 for (n,) in calls),
    ),
    "format_ms": Family(
        "duration",
        [("format_time", "seconds"), ("mm_ss", "secs"), ("lap_time", "n"), ("track_length", "total")],
        "returns the number of seconds $a written as 'MM:SS' with two-digit minutes and seconds (the minutes may"
        " go past 59)",
        "    return '%02d:%02d' % divmod($a, 60)",
        lambda x, c: f"{x[0] // 60:02d}:{x[0] % 60:02d}",
        lambda rng, c: (rng.randrange(0, 7200),),
    ),
    "parse_hms": Family(
        "duration",
        [("to_seconds", "text"), ("parse_duration", "s"), ("seconds_of", "hms"), ("total_seconds", "d")],
        "returns the number of seconds in the duration $a, written as 'H:MM:SS'",
        "    h, m, s = map(int, $a.split(':'))\n    return h * 3600 + m * 60 + s",
        lambda x, c: sum(int(p) * w for p, w in zip(x[0].split(":"), (3600, 60, 1))),
        lambda rng, c: (hms(rng.randrange(0, 40000)),),
    ),
    "parse_ms": Family(
        "duration",
        [("lap_seconds", "lap"), ("seconds_in", "text"), ("song_seconds", "length")],
        "returns the number of seconds in the duration $a, written as 'M:SS' (minutes, then seconds)",
        "    m, s = $a.split(':')\n    return int(m) * 60 + int(s)",
        lambda x, c: minutes(x[0]),
        lambda rng, c: (m_ss(rng.randrange(0, 3600)),),
    ),
    "total_minutes": Family(
        "duration",
        [("total_minutes", "entries"), ("time_spent", "sessions"), ("sum_minutes", "items")],
        "returns the total number of minutes of the list $a of durations written as 'H:MM' (hours, then minutes)",
        "    total = 0\n    for d in $a:\n        h, m = d.split(':')\n        total += int(h) * 60 + int(m)\n"
        "    return total",
        lambda x, c: sum(map(minutes, x[0])),
        lambda rng, c: (durations(rng, 5, 300, h_mm),),
    ),
    "total_text": Family(
        "duration",
        [("add_durations", "parts"), ("total_time", "clips"), ("running_time", "episodes")],
        "returns the sum of the list $a of durations written as 'H:MM', written as 'H:MM' too (hours without a"
        " leading zero, two-digit minutes)",
        "    total = sum(int(d.split(':')[0]) * 60 + int(d.split(':')[1]) for d in $a)\n"
        "    return '%d:%02d' % (total // 60, total % 60)",
        lambda x, c: h_mm(sum(map(minutes, x[0]))),
        lambda rng, c: (durations(rng, 5, 200, h_mm),),
        need=lambda calls, c: any(sum(minutes(d) % 60 for d in ds) >= 60 for (ds,) in calls),
    ),
    "longest": Family(
        "duration",
        [("$which", "tracks"), ("${which}_song", "lengths"), ("${which}_lap", "laps"), ("${which}_call", "calls")],
        "returns the $which duration of the list $a of durations written as 'M:SS' (minutes without a leading"
        " zero, then seconds)",
        "    return $fn($a, key=lambda d: int(d.split(':')[0]) * 60 + int(d.split(':')[1]))",
        lambda x, c: (min if c["fn"] == "min" else max)(x[0], key=minutes),
        lambda rng, c: ([m_ss(n) for n in rng.sample(range(30, 1500), rng.randint(2, 4))],),
        lambda rng: rng.choice([{"which": "longest", "fn": "max"}, {"which": "shortest", "fn": "min"}]),
        lambda calls, c: any(
            (min if c["fn"] == "min" else max)(ts, key=minutes) != (min if c["fn"] == "min" else max)(ts)
            for (ts,) in calls
        ),
    ),
    "hours_text": Family(
        "duration",
        [("describe", "minutes"), ("as_hours", "mins"), ("pretty_duration", "n")],
        "returns the number of minutes $a written like $like (whole hours, then the minutes left $pad)",
        "    return '$fmt' % divmod($a, 60)",
        lambda x, c: c["fmt"] % divmod(x[0], 60),
        lambda rng, c: (rng.randrange(0, 1000),),
        lambda rng: rng.choice(
            [
                {"fmt": "%dh %02dm", "like": "'2h 05m'", "pad": "with two digits"},
                {"fmt": "%dh%02d", "like": "'2h05'", "pad": "with two digits"},
                {"fmt": "%d h %d min", "like": "'2 h 5 min'", "pad": "without a leading zero"},
                {"fmt": "%d hr %d min", "like": "'2 hr 5 min'", "pad": "without a leading zero"},
            ]
        ),
    ),
    "decimal_hours": Family(
        "duration",
        [("decimal_hours", "d"), ("hours_worked", "shift"), ("to_hours", "text")],
        "returns the duration $a, written as 'H:MM', in hours as a number rounded to $k decimal places",
        "    h, m = $a.split(':')\n    return round(int(h) + int(m) / 60, $k)",
        lambda x, c: round(minutes(x[0]) / 60, c["k"]),
        lambda rng, c: (h_mm(rng.randrange(0, 720)),),
        lambda rng: {"k": rng.choice([2, 3])},
    ),
    "blocks": Family(
        "duration",
        [("billable_blocks", "minutes"), ("slots_needed", "mins"), ("parking_units", "n")],
        "returns how many $k-minute blocks are needed to cover $a minutes (a started block counts whole)",
        "    return ($a + $k - 1) // $k",
        lambda x, c: math.ceil(x[0] / c["k"]),
        lambda rng, c: (rng.randrange(1, 10) * c["k"] if rng.random() < 0.3 else rng.randint(1, 400),),
        lambda rng: {"k": rng.choice([10, 15, 20, 30, 60])},
        lambda calls, c: any(n % c["k"] == 0 for (n,) in calls) and any(n % c["k"] for (n,) in calls),
    ),
    "split_seconds": Family(
        "duration",
        [("split_time", "seconds"), ("dhms", "secs"), ("breakdown", "n")],
        "returns the number of seconds $a as a tuple (days, hours, minutes, seconds)",
        "    d, rest = divmod($a, 86400)\n    h, rest = divmod(rest, 3600)\n    m, s = divmod(rest, 60)\n"
        "    return (d, h, m, s)",
        lambda x, c: (x[0] // 86400, x[0] % 86400 // 3600, x[0] % 3600 // 60, x[0] % 60),
        lambda rng, c: (rng.randrange(0, 400000),),
        need=lambda calls, c: any(n >= 86400 for (n,) in calls),
    ),
    "pace": Family(
        "duration",
        [("pace", "run, km"), ("per_km", "total, distance"), ("average_lap", "race, laps")],
        "returns the time per unit of a run of total time $a (written as 'MM:SS') over $b units, as 'M:SS'"
        " (seconds rounded down, minutes without a leading zero)",
        "    m, s = map(int, $a.split(':'))\n    each = (m * 60 + s) // $b\n"
        "    return '%d:%02d' % (each // 60, each % 60)",
        lambda x, c: m_ss(minutes(x[0]) // x[1]),
        lambda rng, c: (f"{rng.randint(10, 99)}:{rng.randrange(60):02d}", rng.randint(2, 12)),
    ),
    "convert_up": Family(
        "duration",
        [("${big}_to_${small}", "n"), ("to_${small}", "$big"), ("in_${small}", "amount")],
        "returns the number of $small in $a $big",
        "    return $a * $f",
        lambda x, c: x[0] * c["f"],
        lambda rng, c: (rng.randint(1, 60),),
        units,
    ),
    "convert_down": Family(
        "duration",
        [("whole_${big}", "$small"), ("${small}_to_${big}", "n"), ("full_${big}", "amount")],
        "returns the number of whole $big in $a $small (rounded down)",
        "    return $a // $f",
        lambda x, c: x[0] // c["f"],
        some_count,
        units,
        mixed,
    ),
    "convert_left": Family(
        "duration",
        [("${small}_left", "$small"), ("remainder_${small}", "n"), ("extra_${small}", "amount")],
        "returns the $small left over when $a $small are written as whole $big and $small",
        "    return $a % $f",
        lambda x, c: x[0] % c["f"],
        some_count,
        units,
        mixed,
    ),
    "convert_split": Family(
        "duration",
        [("split_${small}", "$small"), ("${big}_and_${small}", "n"), ("as_${big}", "amount")],
        "returns $a $small as a tuple (whole $big, $small left over)",
        "    return ($a // $f, $a % $f)",
        lambda x, c: divmod(x[0], c["f"]),
        some_count,
        units,
        mixed,
    ),
    # ---- calendar ----
    "is_leap": Family(
        "calendar",
        [("is_leap", "year"), ("leap_year", "y"), ("has_feb_29", "yr"), ("is_leap_year", "n")],
        "returns True if the year $a is a leap year of the Gregorian calendar (divisible by 4, except years"
        " divisible by 100 but not by 400), else False",
        f"    return {LEAP}",
        lambda x, c: is_leap(x[0]),
        lambda rng, c: (some_year(rng),),
        need=leap_need,
    ),
    "days_in_month": Family(
        "calendar",
        [("days_in_month", "month, year"), ("month_length", "m, y"), ("last_day", "mon, yr")],
        "returns the number of days of month $a (1 to 12) of the year $b, with leap years of the Gregorian calendar",
        "    if $a == 2:\n        return 29 if $b % 4 == 0 and ($b % 100 != 0 or $b % 400 == 0) else 28\n"
        "    return 30 if $a in (4, 6, 9, 11) else 31",
        lambda x, c: month_days(x[0], x[1]),
        lambda rng, c: (2 if rng.random() < 0.5 else rng.randint(1, 12), some_year(rng)),
        need=lambda calls, c: (
            any(m == 2 and is_leap(y) for m, y in calls)
            and any(m == 2 and not is_leap(y) for m, y in calls)
            and any(m != 2 for m, y in calls)
        ),
    ),
    "month_days": Family(
        "calendar",
        [("days_in_month", "month"), ("month_days", "m"), ("length_of", "mon")],
        "returns the number of days of month $a (1 to 12) in a year that is not a leap year",
        f"    return {MONTHS_LIST}[$a - 1]",
        lambda x, c: MONTHS[x[0] - 1],
        lambda rng, c: (rng.randint(1, 12),),
        need=lambda calls, c: any(m == 2 for (m,) in calls) or len({MONTHS[m - 1] for (m,) in calls}) == 3,
    ),
    "named_month_days": Family(
        "calendar",
        [("days_in", "month"), ("month_length", "name"), ("days_of", "month_name")],
        "returns the number of days of the month named $a (an English name such as 'March') in a year that is"
        " not a leap year",
        "    if $a == 'February':\n        return 28\n"
        "    return 30 if $a in ('April', 'June', 'September', 'November') else 31",
        lambda x, c: MONTHS[MONTH_NAMES.index(x[0])],
        lambda rng, c: (rng.choice(MONTH_NAMES),),
        need=lambda calls, c: len({MONTHS[MONTH_NAMES.index(m)] for (m,) in calls}) >= 2,
    ),
    "day_of_year": Family(
        "calendar",
        [("day_of_year", "month, day"), ("ordinal", "m, d"), ("day_number", "mon, day")],
        "returns which day of a year that is not a leap year the date of month $a (1 to 12) and day $b is"
        " (1 January is 1, 31 December is 365)",
        f"    return sum({MONTHS_LIST}[:$a - 1]) + $b",
        lambda x, c: year_day(*x),
        lambda rng, c: (lambda d: (d.month, d.day))(some_date(rng, False)),
        need=lambda calls, c: any(m > 2 for m, d in calls),
    ),
    "leap_day_of_year": Family(
        "calendar",
        [("day_of_year", "year, month, day"), ("ordinal_day", "y, m, d")],
        "returns which day of its year the date year $a, month $b, day $c is (1 January is 1), with leap years"
        " of the Gregorian calendar",
        f"{FEB.replace('$y', '$a')}    return sum({LEAP_LIST}[:$b - 1]) + $c",
        lambda x, c: year_day(x[1], x[2], x[0]),
        lambda rng, c: (lambda d: (d.year, d.month, d.day))(
            datetime.date(some_year(rng), rng.randint(3, 12), rng.randint(1, 28))
            if rng.random() < 0.6
            else some_date(rng)
        ),
        need=lambda calls, c: (
            any(is_leap(y) and m > 2 for y, m, d in calls) and any(not is_leap(y) and m > 2 for y, m, d in calls)
        ),
    ),
    "date_of_day": Family(
        "calendar",
        [("date_of_day", "n"), ("month_and_day", "day"), ("from_ordinal", "k")],
        "returns the date of day $a (1 to 365) of a year that is not a leap year as a tuple (month, day)",
        f"    for month, days in enumerate({MONTHS_LIST}, 1):\n        if $a <= days:\n"
        "            return (month, $a)\n        $a -= days",
        lambda x, c: (lambda d: (d.month, d.day))(datetime.date(2001, 1, 1) + datetime.timedelta(days=x[0] - 1)),
        lambda rng, c: (rng.randint(1, 365),),
        need=lambda calls, c: any(n > 59 for (n,) in calls),
    ),
    "days_left": Family(
        "calendar",
        [("days_left", "month, day"), ("days_to_new_year", "m, d"), ("remaining_days", "mon, day")],
        "returns how many days of a year that is not a leap year come after the date of month $a and day $b"
        " (31 December gives 0)",
        f"    return 365 - sum({MONTHS_LIST}[:$a - 1]) - $b",
        lambda x, c: 365 - year_day(*x),
        lambda rng, c: (lambda d: (d.month, d.day))(some_date(rng, False)),
    ),
    "days_between": Family(
        "calendar",
        [("days_between", "a, b"), ("days_apart", "start, end"), ("nights", "arrive, leave")],
        "returns the number of days from the date $a to the later date $b of the same year that is not a leap year,"
        " both written as 'MM-DD'",
        f"    days = {MONTHS_LIST}\n    m1, d1 = map(int, $a.split('-'))\n    m2, d2 = map(int, $b.split('-'))\n"
        "    return sum(days[:m2 - 1]) + d2 - sum(days[:m1 - 1]) - d1",
        lambda x, c: (
            (datetime.date(2001, *map(int, x[1].split("-"))) - datetime.date(2001, *map(int, x[0].split("-")))).days
        ),
        lambda rng, c: tuple(
            (datetime.date(2001, 1, 1) + datetime.timedelta(days=n)).strftime("%m-%d")
            for n in sorted(rng.sample(range(365), 2))
        ),
        need=lambda calls, c: any(a[:2] != b[:2] for a, b in calls),
    ),
    "weekday_after": Family(
        "calendar",
        [("weekday_after", "day, n"), ("day_in", "today, days"), ("future_weekday", "start, k")],
        "returns the weekday $b days after the weekday $a; both are $names",
        "    week = $list\n    return week[(week.index($a) + $b) % 7]",
        lambda x, c: day_shift(x[0], x[1], c["style"]),
        weekday_draw,
        style,
        lambda calls, c: any(n >= 7 for d, n in calls),
    ),
    "weekday_before": Family(
        "calendar",
        [("weekday_before", "day, n"), ("days_ago", "today, days"), ("past_weekday", "start, k")],
        "returns the weekday $b days before the weekday $a; both are $names",
        "    week = $list\n    return week[(week.index($a) - $b) % 7]",
        lambda x, c: day_shift(x[0], -x[1], c["style"]),
        weekday_draw,
        style,
        lambda calls, c: any(n >= 7 for d, n in calls),
    ),
    "weekday_number": Family(
        "calendar",
        [("weekday_number", "day"), ("day_index", "name"), ("iso_weekday", "weekday")],
        "returns the number of the weekday $a, $names, counting $first as $start",
        "    return $list.index($a)$plus",
        lambda x, c: (DAYS if c["style"] == "full" else [d[:3] for d in DAYS]).index(x[0]) + c["start"],
        lambda rng, c: (rng.choice(DAYS if c["style"] == "full" else [d[:3] for d in DAYS]),),
        lambda rng: (
            lambda s: {
                **s,
                **rng.choice([{"start": 0, "plus": ""}, {"start": 1, "plus": " + 1"}]),
                "first": "Monday" if s["style"] == "full" else "Mon",
            }
        )(style(rng)),
    ),
    "next_date": Family(
        "calendar",
        [("next_day", "s"), ("tomorrow", "today"), ("following_date", "mmdd")],
        "returns the date after the date $a of a year that is not a leap year, both written as 'MM-DD'"
        " (after '12-31' comes '01-01')",
        f"    m, d = map(int, $a.split('-'))\n    if d < {MONTHS_LIST}[m - 1]:\n"
        "        return '%02d-%02d' % (m, d + 1)\n    return '%02d-01' % (m % 12 + 1)",
        lambda x, c: next_day(x[0]),
        lambda rng, c: (some_date(rng, False).strftime("%m-%d"),),
        need=lambda calls, c: any(next_day(d)[:2] != d[:2] for (d,) in calls),
    ),
    "reformat_date": Family(
        "calendar",
        [("to_iso", "text"), ("reformat_date", "s"), ("iso_date", "d")],
        "returns the date $a, written as '$src', written as 'YYYY-MM-DD' instead",
        "    $parts = $a.split('$sep')\n    return yyyy + '-' + mm + '-' + dd",
        lambda x, c: datetime.datetime.strptime(x[0], c["strp"]).strftime("%Y-%m-%d"),
        lambda rng, c: (some_date(rng).strftime(c["strp"]),),
        lambda rng: rng.choice(
            [
                {"src": "DD/MM/YYYY", "parts": "dd, mm, yyyy", "sep": "/", "strp": "%d/%m/%Y"},
                {"src": "MM/DD/YYYY", "parts": "mm, dd, yyyy", "sep": "/", "strp": "%m/%d/%Y"},
                {"src": "DD.MM.YYYY", "parts": "dd, mm, yyyy", "sep": ".", "strp": "%d.%m.%Y"},
            ]
        ),
    ),
    "is_valid_date": Family(
        "calendar",
        [("is_valid_date", "year, month, day"), ("real_date", "y, m, d"), ("date_exists", "yr, mon, day")],
        "returns True if year $a, month $b, day $c is a date of the Gregorian calendar (months 1 to 12, leap years"
        " with 29 February), else False",
        f"{FEB.replace('$y', '$a')}    return 1 <= $b <= 12 and 1 <= $c <= {LEAP_LIST}[$b - 1]",
        lambda x, c: valid(*x),
        valid_date,
        need=lambda calls, c: len({valid(*x) for x in calls}) == 2 and any(m == 2 and d == 29 for y, m, d in calls),
    ),
    "count_leap_years": Family(
        "calendar",
        [("count_leap_years", "start, end"), ("leap_years_between", "first, last"), ("leaps", "a, b")],
        "returns how many years from $a to $b (both included) are leap years of the Gregorian calendar",
        "    return sum(1 for y in range($a, $b + 1) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0))",
        lambda x, c: sum(map(is_leap, range(x[0], x[1] + 1))),
        lambda rng, c: (lambda a: (a, a + rng.randint(0, 150)))(rng.randint(1650, 2300)),
        need=lambda calls, c: any(any(y % 100 == 0 for y in range(a, b + 1)) for a, b in calls),
    ),
    "quarter": Family(
        "calendar",
        [("quarter", "month"), ("quarter_of", "m"), ("fiscal_quarter", "mon")],
        "returns the quarter of the year (1 to 4) that month $a (1 to 12) is in",
        "    return ($a - 1) // 3 + 1",
        lambda x, c: (x[0] - 1) // 3 + 1,
        lambda rng, c: (rng.randint(1, 12),),
        need=lambda calls, c: any(m % 3 == 0 for (m,) in calls),
    ),
    "is_weekend": Family(
        "calendar",
        [("is_$which", "day"), ("$which", "name"), ("is_${which}_day", "weekday")],
        "returns True if the weekday $a, $names, is $says, else False",
        "    return $a $op $pair",
        lambda x, c: (x[0][:3] in ("Sat", "Sun")) == (c["op"] == "in"),
        lambda rng, c: (rng.choice(DAYS if c["style"] == "full" else [d[:3] for d in DAYS]),),
        lambda rng: {
            **(lambda st: {**st, "pair": "('Saturday', 'Sunday')" if st["style"] == "full" else "('Sat', 'Sun')"})(
                style(rng)
            ),
            **rng.choice(
                [
                    {"which": "weekend", "says": "a Saturday or a Sunday", "op": "in"},
                    {"which": "workday", "says": "from Monday to Friday", "op": "not in"},
                ]
            ),
        },
    ),
    "decade": Family(
        "calendar",
        [("decade", "year"), ("decade_start", "y"), ("round_year", "yr")],
        "returns the first year of the decade of the year $a (1987 is in the decade from 1980)",
        "    return $a // 10 * 10",
        lambda x, c: x[0] // 10 * 10,
        lambda rng, c: (rng.randint(1500, 2100),),
    ),
    "century": Family(
        "calendar",
        [("century", "year"), ("century_of", "y"), ("which_century", "yr")],
        "returns the century of the year $a as a number (1901 to 2000 is century 20, 2001 to 2100 century 21)",
        "    return ($a - 1) // 100 + 1",
        lambda x, c: (x[0] - 1) // 100 + 1,
        lambda rng, c: (
            rng.choice([1700, 1800, 1900, 2000, 2100]) + rng.choice([0, 0, 1])
            if rng.random() < 0.4
            else rng.randint(1001, 2199),
        ),
        need=lambda calls, c: any(y % 100 == 0 for (y,) in calls),
    ),
    "days_in_year": Family(
        "calendar",
        [("days_in_year", "year"), ("year_length", "y"), ("days_of_year", "yr")],
        "returns the number of days of the year $a: 366 in a leap year of the Gregorian calendar (divisible by 4,"
        " except years divisible by 100 but not by 400), else 365",
        f"    return 366 if {LEAP} else 365",
        lambda x, c: 366 if is_leap(x[0]) else 365,
        lambda rng, c: (some_year(rng),),
        need=leap_need,
    ),
    "make_date": Family(
        "calendar",
        [("make_date", "y, m, d"), ("iso_text", "year, month, day"), ("date_string", "yr, mon, day")],
        "returns the date of year $a, month $b and day $c as a 'YYYY-MM-DD' string (two-digit month and day)",
        "    return '%d-%02d-%02d' % ($a, $b, $c)",
        lambda x, c: datetime.date(*x).isoformat(),
        lambda rng, c: (lambda d: (d.year, d.month, d.day))(some_date(rng)),
        need=lambda calls, c: any(m < 10 or d < 10 for y, m, d in calls),
    ),
    "date_part": Family(
        "calendar",
        [("get_$part", "date"), ("${part}_of", "iso"), ("${part}_number", "text")],
        "returns the $part of the 'YYYY-MM-DD' date $a as a whole number",
        "    return int($a.split('-')[$i])",
        lambda x, c: int(x[0].split("-")[c["i"]]),
        lambda rng, c: (some_date(rng).isoformat(),),
        lambda rng: rng.choice([{"part": "year", "i": 0}, {"part": "month", "i": 1}, {"part": "day", "i": 2}]),
    ),
    "years_between": Family(
        "calendar",
        [("years_between", "start, end"), ("age_in", "born, year"), ("anniversary", "founded, now")],
        "returns how many years the year $b is after the year $a",
        "    return $b - $a",
        lambda x, c: x[1] - x[0],
        lambda rng, c: (lambda a: (a, a + rng.randint(1, 120)))(rng.randint(1800, 2000)),
    ),
    "age": Family(
        "calendar",
        [("age", "born, today"), ("years_old", "birth, now"), ("age_on", "birthday, day")],
        "returns the age in whole years on the date $b of someone born on the date $a; both dates are tuples"
        " (year, month, day)",
        "    years = $b[0] - $a[0]\n    if ($b[1], $b[2]) < ($a[1], $a[2]):\n        years -= 1\n    return years",
        lambda x, c: age(*x),
        birthday,
        need=lambda calls, c: (
            any((t[1], t[2]) < (b[1], b[2]) for b, t in calls) and any((t[1], t[2]) >= (b[1], b[2]) for b, t in calls)
        ),
    ),
}
"""The function templates, by family: a record's ``kind`` is its family's clock, duration or calendar."""


def call(name: str, x: tuple) -> str:
    return f"{name}({', '.join(map(repr, x))})"


def braces(text: str) -> str:
    """``text`` as literal text of an f-string (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def fill(text: str, values: dict) -> str:
    """``text`` with its placeholders filled (twice: a constant may hold an argument's)."""
    for _ in range(2):
        text = Template(text).safe_substitute(values)
    if "$" in text:
        raise ValueError(f"a placeholder is left in {text!r}")
    return text


def record(rng: random.Random, family: str) -> dict | None:
    f = FAMILIES[family]
    consts = f.consts(rng)
    name, args = rng.choice(f.names)
    args = fill(args, consts)
    values = {**consts, **dict(zip("abc", args.split(", ")))}
    name = fill(name, values)
    for _ in range(200):  # four different calls whose results tell a right function from a near miss
        inputs = [f.draw(rng, consts) for _ in range(4)]
        results = [f.expected(x, consts) for x in inputs]
        if len(set(map(repr, inputs))) == 4 and len(set(map(repr, results[1:]))) >= 2 and f.need(inputs[1:], consts):
            break
    else:
        return None
    calls = [(call(name, x), want) for x, want in zip(inputs, results)]
    (example, shown), tests = calls[0], calls[1:]
    does = fill(f.does, values)
    lines = [
        f'assert (got := {c}) == {want!r}, f"{braces(c)} returned {{got!r}}, expected {braces(repr(want))}"'
        for c, want in tests
    ]
    return {
        "signature": f"{name}({args})",
        "description": f"{does[0].upper()}{does[1:]}; for example {example} returns {shown!r}.",
        "tests": "\n".join(lines),
        "solution": f"def {name}({args}):\n{fill(f.body, values)}",
        "kind": f.kind,
        "family": family,
    }


def draw(rng: random.Random) -> dict | None:
    return record(rng, rng.choice(sorted(FAMILIES)))


def main() -> None:
    pool = distinct(2600 + 300, seed=2043, draw=draw, key="description")  # one pool: no description in two files
    train, validation, test, reserve = split(pool, 2000, 300, 300)
    shown = [r for r in reserve if r["family"] in SHOWN]
    shots = one_of_each(shown, ["clock", "duration", "calendar"])
    write_files(HERE, train, validation, test, shots)


if __name__ == "__main__":
    main()
