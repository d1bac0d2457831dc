"""Placing typed addresses on the map: a workplace's, a consultant's base.

`place(address)` places a Danish address offline, to its town or postcode (shipped data,
licences in data/LICENSE.md); `Placer` asks DAWA first when `[places] online = true`.
"""

from service.places.geocoder import AddressPlacer, DawaGeocoder, Placer
from service.places.offline import (
    PRECISIONS,
    Placement,
    Precision,
    place,
    placement_words,
)

__all__ = ["PRECISIONS", "AddressPlacer", "DawaGeocoder", "Placement", "Placer", "Precision",
           "place", "placement_words"]
