"""BTP-style area of a station: "B", "C" or "D".

British Transport Police has three geographic divisions (since 2014):

- B: London and the South East, "across East Anglia, the south coast and the capital";
- C: Pennine, Midlands, South West and Wales;
- D: Scotland.

Scotland is D and Wales is C by definition. The B/C boundary inside England is NOT
published by BTP (see shared/data/btp_areas.md); the line below is our approximation,
drawn so that London, the Home Counties, Kent, Sussex, Hampshire, most of Dorset,
Thames Valley (Reading, Oxford), Milton Keynes, Bedford and East Anglia (Cambridge,
Peterborough, Ely, Norwich) fall in B, and the Midlands (Northampton, Leicester,
Banbury), the West Country (Swindon, Bristol, Exeter) and the North fall in C. Confirm with
BTP before routing live cases by area. Sub-divisions are not assigned.

Where a station's country is unknown (a plain name,crs,lat,lon file or NaPTAN), Scotland
is told from England by an approximate border line; Wales needs no such line because
Wales and the West of England are both C.
"""

from __future__ import annotations

AREA_LONDON_SOUTH_EAST = "B"
AREA_PENNINE_MIDLANDS_WEST_WALES = "C"
AREA_SCOTLAND = "D"

# Anglo-Scottish border, west to east, as (longitude, latitude): the Galloway coast across
# the Solway Firth, Gretna, then to Berwick.
_BORDER = (
    (-3.6, 54.72),
    (-3.59, 54.98),
    (-3.05, 54.98),
    (-2.85, 55.08),
    (-2.5, 55.2),
    (-2.25, 55.35),
    (-2.2, 55.55),
    (-2.03, 55.81),
)


def _in_scotland(lat: float, lon: float) -> bool:
    if lon <= _BORDER[0][0]:
        return lat > _BORDER[0][1]
    if lon >= _BORDER[-1][0]:
        return lat > _BORDER[-1][1]
    for (lon1, lat1), (lon2, lat2) in zip(_BORDER, _BORDER[1:], strict=False):
        if lon1 <= lon <= lon2:
            border_lat = lat1 + (lat2 - lat1) * (lon - lon1) / (lon2 - lon1)
            return lat > border_lat
    return False  # unreachable: the border spans every longitude between its ends


def _in_b_division(lat: float, lon: float) -> bool:
    """Approximate, unpublished B/C line for England (see the module docstring)."""
    if lat >= 53.0:
        return False
    if lat >= 52.65:  # Norfolk is B; Lincolnshire and the Midlands are C
        return lon > 0.0
    if lat >= 51.9:  # Cambridgeshire, Bedford, Milton Keynes, Suffolk, Essex
        return lon > -0.85
    if lat >= 51.2:  # Thames Valley: Reading, Didcot, Oxford, Newbury
        return lon > -1.4
    if lat >= 50.8:  # Hampshire, Salisbury, north Dorset
        return lon > -2.3
    return lon > -2.5  # the south coast as far as Weymouth


def area_for(country: str | None, lat: float, lon: float) -> str:
    """Area code for a station, from its country where known, else from its position."""
    c = (country or "").strip().lower()
    if c == "scotland":
        return AREA_SCOTLAND
    if c == "wales":
        return AREA_PENNINE_MIDLANDS_WEST_WALES
    if c != "england" and _in_scotland(lat, lon):
        return AREA_SCOTLAND
    if _in_b_division(lat, lon):
        return AREA_LONDON_SOUTH_EAST
    return AREA_PENNINE_MIDLANDS_WEST_WALES
