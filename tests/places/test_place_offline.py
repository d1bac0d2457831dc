"""Typed Danish addresses placed without any network: to the town after the postcode, else
the postcode's centre; a nonsense address is not placed (never at random, never at a guess
of another town)."""

from __future__ import annotations

import pytest

from service.places import place
from service.places.offline import km_between, places


@pytest.mark.parametrize(("address", "town"), [
    ("Østergade 5, 7430 Ikast", "Ikast"),
    ("Fabriksvej 3, 7451 Sunds", "Sunds"),
    ("Vestergade 1, 7330 Brande", "Brande"),
    ("Bredgade 2, 7400 Herning", "Herning"),
    ("Kirkevej 1 6933 KIBÆK", "Kibæk"),  # no comma, upper case, "Æ"
    ("Augustenborggade 5, 5. 3, 8000 Aarhus C", "Aarhus"),  # a city district's letter
    ("Aabygade 1, 8000 Århus C", "Århus"),  # "Å" and "Aa" alike
    ("Ndr. Frihavnsgade 1, 2100 København Ø", "København"),
    ("Hovedgaden 2, 7470 Karup J", "Karup"),
    ("Torvet 1, DK-4000 Roskilde, Danmark", "Roskilde"),
])
def test_an_address_is_placed_at_the_town_after_its_postcode(address: str, town: str) -> None:
    placement = place(address)
    assert placement.placed and placement.precision == "town", placement
    assert placement.town == town
    assert placement.words() == f"placeret på by: {town}"


def test_towns_a_few_kilometres_apart_get_their_own_coordinates() -> None:
    spots = {t: place(f"Hovedgaden 1, {pc} {t}") for pc, t in (
        ("7400", "Herning"), ("7430", "Ikast"), ("7451", "Sunds"), ("7330", "Brande"))}
    herning, ikast, sunds, brande = (spots[t] for t in ("Herning", "Ikast", "Sunds", "Brande"))
    assert all(p.lat is not None and p.lon is not None for p in spots.values())
    assert 8 < km_between(herning.lat, herning.lon, ikast.lat, ikast.lon) < 16  # type: ignore[arg-type]
    assert 5 < km_between(herning.lat, herning.lon, sunds.lat, sunds.lon) < 15  # type: ignore[arg-type]
    assert 20 < km_between(herning.lat, herning.lon, brande.lat, brande.lon) < 35  # type: ignore[arg-type]


def test_a_village_not_in_the_town_list_falls_back_to_its_postcode() -> None:
    assert not places().towns.get("engesvang")
    placement = place("Silkeborgvej 14, 7442 Engesvang")
    assert placement.precision == "postcode" and placement.postcode == "7442"
    assert placement.words() == "placeret på postnummer: 7442 Engesvang"
    # A part of town the list does not know: the postcode's town.
    tjorring = place("Tjørringvej 1, 7400 Tjørring")
    assert (tjorring.precision, tjorring.town) == ("postcode", "Herning")


@pytest.mark.parametrize("address", [
    "asdfgh", "Blabla 1, 9999 Xyzzy", "Hovedgaden 1", "", "   ", "1234",
    "Storegade 1, 7430 Aalborg",  # Aalborg is not where 7430 is: one of the two is wrong
    "Nørregade 1, Ikastt",  # a typing error is not guessed
])
def test_a_nonsense_address_is_not_placed_and_says_why(address: str) -> None:
    placement = place(address)
    assert not placement.placed and placement.precision is None, placement
    assert placement.lat is None and placement.lon is None
    assert placement.reason
    assert placement.words().startswith("ikke placeret: ")


def test_the_same_address_is_placed_the_same_every_time() -> None:
    assert place("Østergade 5, 7430 Ikast") == place("Østergade 5, 7430 Ikast")
