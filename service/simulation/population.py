"""Synthetic employers and citizens: realistic in shape, fictional in every detail.

Names are drawn from common Danish first names and surnames; CPR numbers have a valid format
(a real birth date, DDMMYY-SSSS) but are made up; CVR numbers pass the modulus-11 check
but name no real company (addresses and e-mail domains are `.example`). The largest employers
are the ones the configuration gives fixed consultants.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from service.config import MunicipalityConfig

FIRST_NAMES = (
    "Anne", "Mette", "Kirsten", "Hanne", "Helle", "Susanne", "Lene", "Maria", "Camilla",
    "Louise", "Charlotte", "Pia", "Tina", "Marianne", "Julie", "Sofie", "Ida", "Emma", "Line",
    "Peter", "Jens", "Michael", "Lars", "Thomas", "Henrik", "Søren", "Jan", "Martin", "Niels",
    "Anders", "Rasmus", "Jesper", "Morten", "Mads", "Christian", "Kasper", "Jonas", "Frederik",
    "Bjørn", "Åse", "Jørgen", "Bent", "Torben", "Kåre",
)
SURNAMES = (
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen", "Knudsen", "Jakobsen",
    "Mikkelsen", "Frederiksen", "Østergaard", "Kjær", "Lund", "Holm", "Bækgaard", "Damgaard",
)
PLACES = ("Herning", "Ikast", "Brande", "Sunds", "Hammerum", "Gjellerup", "Aulum", "Kibæk",
          "Vildbjerg", "Lind", "Tjørring", "Midtjysk", "Vestjysk", "Karup Å")
TRADES = ("Stål", "Tekstil", "Møbler", "Transport", "VVS", "Byg", "Plast", "Data",
          "Maskinfabrik", "Tømrer", "El-service", "Bageri", "Auto", "Rengøring", "Lager",
          "Fjerkræ", "Emballage", "Grafisk", "Smedie", "Tagdækning", "Revision", "Anlæg",
          "Køleteknik", "Landbrugsservice", "Pleje", "Catering")
LARGE = ("Midtvest Sygehus", "Herningegnens Plejecentre", "Vestjysk Vindteknik A/S",
         "Midtjysk Slagteri A/S", "Danmøbel Produktion A/S", "Herning Tekstilgruppe A/S",
         "Jysk Lagerlogistik A/S", "Brande Stålkonstruktion A/S", "Ikast Emballage A/S",
         "Sunds Plastindustri A/S")
STREETS = ("Industrivej", "Fabriksvej", "Østergade", "Vestergade", "Nørregade", "Søndergade",
           "Håndværkervej", "Erhvervsvej", "Lillelundvej", "Birk Centerpark", "Holtbjergvej")
POSTCODES = {"Herning": "7400", "Ikast": "7430", "Brande": "7330", "Sunds": "7451",
             "Hammerum": "7400", "Gjellerup": "7400", "Aulum": "7490", "Kibæk": "6933",
             "Vildbjerg": "7480", "Lind": "7400", "Tjørring": "7400"}
# Sizes (employees) of the largest employers, in the order of the configured fixed employers.
LARGE_SIZES = (2600, 1800, 1300, 950, 800, 700, 600, 520, 460, 400)
CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Employer:
    cvr: str
    name: str
    address: str
    lat: float
    lon: float
    contact_name: str
    contact_email: str
    contact_phone: str
    employees: int

    def intake_json(self) -> dict[str, object]:
        return {"cvr": self.cvr, "name": self.name, "address": self.address,
                "location": {"lat": self.lat, "lon": self.lon},
                "contact_name": self.contact_name, "contact_email": self.contact_email,
                "contact_phone": self.contact_phone}


@dataclass(frozen=True)
class Citizen:
    name: str
    cpr: str
    email: str | None


def valid_cvr(rng: random.Random, taken: set[str]) -> str:
    """A made-up CVR number that passes the modulus-11 check."""
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        check = -sum(d * w for d, w in zip(digits, CVR_WEIGHTS, strict=False)) % 11
        if check < 10:
            cvr = "".join(map(str, digits)) + str(check)
            if cvr not in taken:
                taken.add(cvr)
                return cvr


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", " ": ".", "/": "", "-": ""})
    return "".join(c for c in text.lower().translate(table) if c.isalnum() or c == ".")


def employers(config: MunicipalityConfig, count: int, rng: random.Random) -> list[Employer]:
    """`count` employers around the jobcentre: the configured fixed employers first (the
    largest), then mostly small and medium firms (a heavy-tailed size distribution)."""
    fixed = [cvr for c in config.consultants for cvr in c.fixed_employers]
    taken = set(fixed)
    centre = config.jobcentre.location
    out: list[Employer] = []
    for index in range(count):
        if index < len(fixed):
            cvr, name = fixed[index], LARGE[index % len(LARGE)]
            size = LARGE_SIZES[index % len(LARGE_SIZES)]
            town = "Herning"
        else:
            cvr = valid_cvr(rng, taken)
            town = rng.choice(PLACES)
            name = f"{town} {rng.choice(TRADES)} {rng.choice(('A/S', 'ApS', 'ApS', 'I/S'))}"
            size = min(350, max(2, int(4 * rng.paretovariate(1.2))))
        contact = _person(rng)
        domain = _slug(name.rsplit(" ", 1)[0]).replace(".", "-") or "firma"
        street_town = town if town in POSTCODES else "Herning"
        out.append(Employer(
            cvr=cvr, name=name,
            address=f"{rng.choice(STREETS)} {rng.randint(1, 120)}, "
                    f"{POSTCODES[street_town]} {street_town}",
            lat=round(centre.lat + rng.uniform(-0.16, 0.16), 5),
            lon=round(centre.lon + rng.uniform(-0.28, 0.28), 5),
            contact_name=contact,
            contact_email=f"{_slug(contact)}@{domain}.example",
            contact_phone=f"{rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
                          f"{rng.randint(10, 99)}",
            employees=size))
    return out


def citizen(rng: random.Random, today: date, number: int) -> Citizen:
    """A made-up citizen aged 20-64 with a CPR number of valid format (never a real one:
    the sequence part counts the simulation's citizens)."""
    born = today - timedelta(days=rng.randint(20 * 365, 64 * 365))
    name = _person(rng)
    email = f"{_slug(name)}{number}@borger.example" if rng.random() < 0.65 else None
    return Citizen(name=name, cpr=f"{born:%d%m%y}-{number % 10_000:04d}", email=email)
