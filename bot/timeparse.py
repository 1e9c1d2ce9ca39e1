"""Times of day and time zones as people write them: one parser for the bot and the config.

``/time``, ``/timezone``, ``delivery.time`` and ``delivery.timezone`` all go through
:func:`parse_clock` and :func:`parse_timezone`, so what one accepts the other accepts.

- A time is a 24-hour clock time: ``7:30``, ``07:30``, ``7.30`` and ``7h30`` are all
  "07:30" (the canonical form, the only one stored).
- A zone is an IANA ``Area/City`` name (any letter case, spaces for underscores) or
  ``UTC``. Old-style names without an area (``EST5EDT``, ``CET``, ``GMT``, ``Japan``...)
  are refused with a suggestion: they are compatibility links in the tz database, and
  several mean something other than what people expect (``EST`` never has summer
  time, ``CET`` is not any country's legal zone).

Data written by older versions may hold such a name: :func:`zone_exists` (what the store
checks) accepts any zone the tz database can load, and :func:`zone` loads one. This
module imports nothing from the rest of the bot, so the configuration can use it.
"""

from __future__ import annotations

import difflib
import functools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .i18n import Html, Items, Text, _, quoted

# How a time is stored: zero-padded 24-hour "HH:MM".
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WRITTEN_CLOCK = re.compile(r"^\s*(\d{1,2})\s*[:.h]\s*(\d{2})\s*$")

# The POSIX-style US zones are links to these cities in the tz database (2024b and later).
_POSIX_STYLE = {
    "est5edt": "America/New_York",
    "cst6cdt": "America/Chicago",
    "mst7mdt": "America/Denver",
    "pst8pdt": "America/Los_Angeles",
}


# Abbreviations people write for their zone -> the zones they most often mean by them
# (several places share some: IST is India's, Ireland's and Israel's). The tz database's
# own names EST, MST, HST, CET... are fixed offsets or links that are not what people
# mean by the abbreviation (EST never has summer time; New York does).
_ABBREVIATIONS = {
    "et": ("America/New_York",),
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "ct": ("America/Chicago",),
    "cst": ("America/Chicago", "Asia/Shanghai"),
    "cdt": ("America/Chicago",),
    "mt": ("America/Denver", "America/Phoenix"),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "pt": ("America/Los_Angeles",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "akst": ("America/Anchorage",),
    "hst": ("Pacific/Honolulu",),
    "bst": ("Europe/London",),
    "wet": ("Europe/Lisbon",),
    "cet": ("Europe/Berlin", "Europe/Paris", "Europe/Rome"),
    "cest": ("Europe/Berlin", "Europe/Paris", "Europe/Rome"),
    "met": ("Europe/Berlin", "Europe/Paris", "Europe/Rome"),
    "eet": ("Europe/Athens", "Europe/Kyiv", "Africa/Cairo"),
    "eest": ("Europe/Athens", "Europe/Kyiv"),
    "msk": ("Europe/Moscow",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "pkt": ("Asia/Karachi",),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "awst": ("Australia/Perth",),
    "acst": ("Australia/Adelaide", "Australia/Darwin"),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "aedt": ("Australia/Sydney",),
    "nzst": ("Pacific/Auckland",),
    "nzdt": ("Pacific/Auckland",),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
    "sast": ("Africa/Johannesburg",),
    "wat": ("Africa/Lagos",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
}
# An offset from UTC as people write it: "UTC+2", "GMT-5", "+05:30", "UTC+5.5" is not one.
_OFFSET = re.compile(r"^(?:utc|gmt)?([+\-\u2212])(\d{1,2})(?::?([0-5]\d))?$")
# The areas of the tz database's place names (not "US/Eastern" nor "Etc/GMT-5").
_AREAS = frozenset(
    {
        "africa",
        "america",
        "antarctica",
        "asia",
        "atlantic",
        "australia",
        "europe",
        "indian",
        "pacific",
    }
)
# The tz database's fixed offsets: Etc/GMT-5 is UTC+5 (POSIX writes the sign reversed).
_ETC_OFFSET = re.compile(r"^etc/gmt[+-]\d+$")


class ScheduleError(ValueError):
    """A delivery time or time zone the bot cannot use; the message says how to fix it."""

    def __init__(self, text: Text, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(str(text))
        self.text = text
        self.suggestions = suggestions


def parse_clock(text: str) -> str:
    """Accept 7:30, 07:30, 7.30 or 7h30 (24-hour clock); return "HH:MM"."""
    match = _WRITTEN_CLOCK.match(text)
    if not match:
        raise ScheduleError(_("Use a 24-hour time like 07:30 (also 7:30 or 7.30)."))
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ScheduleError(
            _("{time} is not a time of day; use 00:00 to 23:59.", time=quoted(text))
        )
    return f"{hour:02d}:{minute:02d}"


@functools.cache
def _zone_names() -> dict[str, str]:
    # available_timezones() walks the tz database on disk: once per process is enough.
    return {name.lower(): name for name in available_timezones()}


def parse_timezone(text: str) -> str:
    """Validate an IANA zone name (case-insensitive); suggest close names when wrong."""
    raw = text.strip().replace(" ", "_")
    if not raw:
        raise ScheduleError(_("Give a time zone like Europe/Berlin or America/New_York."))
    exact = _zone_names().get(raw.lower())
    if exact is not None and ("/" in exact or exact == "UTC"):
        return exact
    suggestions = tuple(suggest_timezones(raw))
    hint = _(" Did you mean {zones}?", zones=Items(suggestions, "or")) if suggestions else Html("")
    shown = quoted(text)
    if exact is not None:
        raise ScheduleError(
            _(
                "{zone} is an old-style zone name; use an Area/City name like Europe/Berlin.{hint}",
                zone=shown,
                hint=hint,
            ),
            suggestions,
        )
    raise ScheduleError(
        _("{zone} is not a time zone I know.{hint}", zone=shown, hint=hint), suggestions
    )


def suggest_timezones(text: str, limit: int = 3) -> list[str]:
    """Zone names close to what was typed: the zone of an offset or of an abbreviation,
    a matching city, then names spelled alike (never a fixed offset for its spelling:
    Etc/GMT-9 is nothing like GMT-5)."""
    needle = text.strip().replace(" ", "_").lower()
    if needle in ("gmt", "z", "zulu", "utc0", "gmt0"):
        return ["UTC"]
    offset = _OFFSET.match(needle.replace("_", ""))
    if offset:
        return _offset_zones(offset, limit)
    if needle in _ABBREVIATIONS:  # those this machine's tz database has (Kyiv is recent)
        return [name for name in _ABBREVIATIONS[needle] if zone_exists(name)][:limit]
    names = {n: full for n, full in _zone_names().items() if not _ETC_OFFSET.match(n)}
    cities = {n.rsplit("/", 1)[-1].lower(): full for n, full in names.items() if "/" in n}
    found: list[str] = []
    if needle in _POSIX_STYLE:
        found.append(_POSIX_STYLE[needle])
    city = needle.rsplit("/", 1)[-1]
    if city in cities and cities[city] not in found:
        found.append(cities[city])
    for match in difflib.get_close_matches(needle, list(names), n=limit, cutoff=0.6):
        if names[match] not in found and "/" in match:
            found.append(names[match])
    for match in difflib.get_close_matches(city, list(cities), n=limit, cutoff=0.75):
        if cities[match] not in found:
            found.append(cities[match])
    return found[:limit]


def _offset_zones(offset: re.Match[str], limit: int) -> list[str]:
    """The zones for an offset from UTC: UTC, or the tz database's fixed offset for a
    whole hour (Etc/GMT-5 for UTC+5), or the zones at an offset of hours and minutes
    (+05:30: Asia/Colombo, Asia/Kolkata) at this moment."""
    sign = -1 if offset[1] in "-\u2212" else 1
    hours, minutes = int(offset[2]), int(offset[3] or 0)
    if not minutes:
        if hours == 0:
            return ["UTC"]
        if -12 <= sign * hours <= 14:
            return [f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"]
        return []
    wanted = timedelta(hours=sign * hours, minutes=sign * minutes)
    now = datetime.now(UTC)
    found = sorted(
        full
        for name, full in _zone_names().items()
        if name.split("/", 1)[0] in _AREAS
        and (_load(full) is not None)
        and now.astimezone(_load(full)).utcoffset() == wanted
    )
    return found[:limit]


@functools.lru_cache(maxsize=1024)
def _load(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    # A folder of the database ("Europe") or an over-long name is an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_exists(name: str) -> bool:
    """True when the tz database can load ``name`` (old-style names included)."""
    return _load(name) is not None


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a stored zone name (UTC if the name became invalid)."""
    return _load(name) or ZoneInfo("UTC")
