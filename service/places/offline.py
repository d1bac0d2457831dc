"""Placing a typed Danish address without any network: to its town, else its postcode.

A Danish address ends in postcode and town ("Østergade 5, 7430 Ikast"). The town after the
four-digit postcode is the key: it is looked up in GeoNames' Danish towns of over 1,000
inhabitants (data/dk_towns.csv), its name normalised (case, "Aa"/"Å", "Æ"/"AE", "Ø"/"O") and
a city district's or region's letters stripped ("8000 Aarhus C", "2100 København Ø",
"7470 Karup J"). A town that is not in that list (a village) falls back to the postcode's
centre (data/dk_postcodes.csv, every Danish postcode). Nothing else: an address whose town
and postcode are both unknown, or whose town lies far from its postcode, is not placed —
never at random, never at a guess of a similar name. Licences: data/LICENSE.md.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

DATA = Path(__file__).resolve().parent / "data"

# How precisely a placement's coordinates stand for the address: `exact` and `street` only
# come from an online geocoder (DAWA); offline placement is to a `postcode` or a `town`.
Precision = Literal["exact", "street", "postcode", "town"]
PRECISIONS: tuple[Precision, ...] = ("exact", "street", "postcode", "town")

# A town further than this from the centre of the postcode typed with it is not the town
# the postcode means (a typing error in one of the two): the address is not placed.
MAX_TOWN_POSTCODE_KM = 30.0

# The letters of a city district or a region after a postal town's name (normalised).
QUALIFIERS = frozenset({"c", "k", "v", "n", "s", "o", "m", "j", "f", "l", "nv", "no", "sv",
                        "so", "ost", "vest", "st", "sj", "fyn", "thy", "jyll", "djurs",
                        "aero"})
# Names typed in Danish that GeoNames' list spells otherwise (normalised keys).
ALIASES = {"kobenhavn": "copenhagen", "bording": "bording kirkeby",
           "gjellerup": "gjellerup kirkeby", "kgs lyngby": "kongens lyngby",
           "faxe": "fakse", "faxe ladeplads": "fakse ladeplads"}

_COUNTRY = re.compile(r"[\s,]*\b(danmark|denmark|dk)\.?$", re.IGNORECASE)
_POSTCODE_TOWN = re.compile(r"(?:^|[\s,])(?:DK-?\s?)?(\d{4})\s+([^\d,]+?)[\s.]*$",
                            re.IGNORECASE)
_POSTCODE_ONLY = re.compile(r"(?:^|[\s,])(?:DK-?\s?)?(\d{4})[\s.]*$", re.IGNORECASE)
_HAS_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Placement:
    """Where a typed address is on the map, and how precisely — or why it is not placed.

    `town`: the town it was placed at (as the address names it, or the postcode's town);
    `reason`: why it could not be placed, in Danish words for staff (None when placed)."""

    address: str
    lat: float | None = None
    lon: float | None = None
    precision: Precision | None = None
    town: str | None = None
    postcode: str | None = None
    reason: str | None = None
    source: Literal["offline", "dawa", "given"] = "offline"

    @property
    def placed(self) -> bool:
        return self.precision is not None and self.lat is not None and self.lon is not None

    def words(self) -> str:
        """How it is placed, for the case page: "placeret på by: Ikast"."""
        return placement_words(self.precision, self.town, self.postcode, self.reason)


def placement_words(precision: str | None, town: str | None = None,
                    postcode: str | None = None, reason: str | None = None) -> str:
    if precision == "town":
        return f"placeret på by: {town}"
    if precision == "postcode":
        return f"placeret på postnummer: {' '.join(x for x in (postcode, town) if x)}"
    if precision == "street":
        return "placeret på vejen"
    if precision == "exact":
        return "placeret på adressen"
    return "ikke placeret" + (f": {reason}" if reason else "")


@dataclass(frozen=True)
class Town:
    name: str  # as GeoNames spells it
    lat: float
    lon: float
    municipality: str


@dataclass(frozen=True)
class Postcode:
    code: str
    name: str  # the postal town, as PostNord names it ("Aarhus C")
    lat: float
    lon: float


@dataclass(frozen=True)
class Places:
    towns: dict[str, list[Town]]  # normalised name -> the towns of that name
    postcodes: dict[str, Postcode]


def name_key(name: str) -> str:
    """A town's name as compared: lower case, Danish letters spelled as GeoNames' ASCII
    does ("æ" → "ae", "ø" → "o", "å" and "aa" → "a"), other accents dropped, punctuation
    and spaces one space."""
    text = name.strip().lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = text.replace("aa", "a")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def _without_qualifier(key: str) -> str:
    words = key.split()
    if len(words) > 1 and words[-1] in QUALIFIERS:
        return " ".join(words[:-1])
    return key


@cache
def places() -> Places:
    """The shipped tables (read once)."""
    towns: dict[str, list[Town]] = {}
    with (DATA / "dk_towns.csv").open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            town = Town(row["name"], float(row["lat"]), float(row["lon"]),
                        row["municipality"])
            towns.setdefault(name_key(town.name), []).append(town)
    postcodes: dict[str, Postcode] = {}
    with (DATA / "dk_postcodes.csv").open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            postcodes[row["postcode"]] = Postcode(row["postcode"], row["name"],
                                                  float(row["lat"]), float(row["lon"]))
    return Places(towns, postcodes)


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def towns_named(name: str) -> list[Town]:
    """The towns a typed name means: the name as it is, else without a district's or
    region's letters ("Aarhus C" → Aarhus); exact names only (after `name_key`)."""
    data = places()
    key = name_key(name)
    for candidate in dict.fromkeys((key, _without_qualifier(key))):
        candidate = ALIASES.get(candidate, candidate)
        if candidate in data.towns:
            return data.towns[candidate]
    return []


def _shown(name: str) -> str:
    """The town as the page shows it: as typed, without a district's letters."""
    words = name.split()
    if len(words) > 1 and name_key(words[-1]) in QUALIFIERS:
        words = words[:-1]
    shown = " ".join(words).strip(" .")
    return shown.title() if shown.islower() or shown.isupper() else shown


def place(address: str) -> Placement:
    """Place a typed Danish address offline: to its town (`town`), else the centre of its
    postcode (`postcode`), else not at all (`reason` says why)."""
    text = " ".join(address.split())
    if not text:
        return Placement(address, reason="adressen er tom")
    text = _COUNTRY.sub("", text)
    data = places()
    found = _POSTCODE_TOWN.search(text)
    if found is not None and _HAS_LETTER.search(found.group(2)):
        code, town_text = found.group(1), found.group(2).strip(" .")
        postcode = data.postcodes.get(code)
        towns = towns_named(town_text)
        if towns:
            if postcode is not None:
                town = min(towns, key=lambda t: km_between(t.lat, t.lon, postcode.lat,
                                                           postcode.lon))
                if km_between(town.lat, town.lon, postcode.lat, postcode.lon) > \
                        MAX_TOWN_POSTCODE_KM:
                    return Placement(address, postcode=code, reason=(
                        f"postnummer {code} er {postcode.name}, som ligger langt fra "
                        f"{_shown(town_text)} — ret postnummer eller by"))
            elif len(towns) == 1:
                town = towns[0]
            else:
                return Placement(address, postcode=code, reason=(
                    f"flere byer hedder {_shown(town_text)}, og postnummer {code} kendes "
                    "ikke"))
            return Placement(address, town.lat, town.lon, "town", _shown(town_text), code)
        if postcode is not None:
            # A village under 1,000 inhabitants (or a name not in the list): the postcode.
            return Placement(address, postcode.lat, postcode.lon, "postcode", postcode.name,
                             code)
        return Placement(address, postcode=code, reason=(
            f"hverken postnummer {code} eller byen {_shown(town_text)} findes i fastholds "
            "liste over danske byer og postnumre"))
    only = _POSTCODE_ONLY.search(text)
    if only is not None:
        code = only.group(1)
        postcode = data.postcodes.get(code)
        if postcode is not None:
            return Placement(address, postcode.lat, postcode.lon, "postcode", postcode.name,
                             code)
        return Placement(address, postcode=code, reason=f"postnummer {code} findes ikke")
    last = text.rsplit(",", 1)[-1].strip(" .")
    if last and _HAS_LETTER.search(last) and not re.search(r"\d", last):
        towns = towns_named(last)
        if len(towns) == 1:
            return Placement(address, towns[0].lat, towns[0].lon, "town", _shown(last))
        if len(towns) > 1:
            return Placement(address, reason=(
                f"flere byer hedder {_shown(last)} — skriv postnummeret foran byen"))
    return Placement(address, reason=(
        "adressen slutter ikke med postnummer og by, fx »Østergade 5, 7430 Ikast«"))
