"""British National Grid (OSGB36 easting/northing) to WGS84 latitude/longitude.

Inverse transverse Mercator on the Airy 1830 ellipsoid, then a seven-parameter Helmert
transform from OSGB36 to WGS84. Good to about 5 m, plenty for finding a station's area;
the Ordnance Survey's OSTN15 grid would be needed for better.
"""

from __future__ import annotations

from math import atan, atan2, cos, degrees, radians, sin, sqrt, tan

# Airy 1830 ellipsoid and the National Grid projection.
_A, _B = 6377563.396, 6356256.909
_F0 = 0.9996012717
_LAT0, _LON0 = radians(49.0), radians(-2.0)
_E0, _N0 = 400000.0, -100000.0
# WGS84 / GRS80 ellipsoid.
_WA, _WB = 6378137.0, 6356752.3141
# OSGB36 -> WGS84 Helmert parameters (metres, ppm, arc-seconds).
_TX, _TY, _TZ = 446.448, -125.157, 542.060
_S = -20.4894e-6
_RX, _RY, _RZ = (radians(v / 3600) for v in (0.1502, 0.2470, 0.8421))


def _grid_to_osgb36(easting: float, northing: float) -> tuple[float, float]:
    e2 = 1 - (_B * _B) / (_A * _A)
    n = (_A - _B) / (_A + _B)
    lat = _LAT0
    m = 0.0
    while True:
        lat = (northing - _N0 - m) / (_A * _F0) + lat
        dlat, slat = lat - _LAT0, lat + _LAT0
        m = (
            _B
            * _F0
            * (
                (1 + n + 5 / 4 * n**2 + 5 / 4 * n**3) * dlat
                - (3 * n + 3 * n**2 + 21 / 8 * n**3) * sin(dlat) * cos(slat)
                + (15 / 8 * n**2 + 15 / 8 * n**3) * sin(2 * dlat) * cos(2 * slat)
                - 35 / 24 * n**3 * sin(3 * dlat) * cos(3 * slat)
            )
        )
        if abs(northing - _N0 - m) < 0.00001:
            break
    sl, cl, tl = sin(lat), cos(lat), tan(lat)
    nu = _A * _F0 / sqrt(1 - e2 * sl * sl)
    rho = _A * _F0 * (1 - e2) / (1 - e2 * sl * sl) ** 1.5
    eta2 = nu / rho - 1
    vii = tl / (2 * rho * nu)
    viii = tl / (24 * rho * nu**3) * (5 + 3 * tl**2 + eta2 - 9 * tl**2 * eta2)
    ix = tl / (720 * rho * nu**5) * (61 + 90 * tl**2 + 45 * tl**4)
    x = 1 / (cl * nu)
    xi = 1 / (cl * 6 * nu**3) * (nu / rho + 2 * tl**2)
    xii = 1 / (cl * 120 * nu**5) * (5 + 28 * tl**2 + 24 * tl**4)
    xiia = 1 / (cl * 5040 * nu**7) * (61 + 662 * tl**2 + 1320 * tl**4 + 720 * tl**6)
    de = easting - _E0
    lat_out = lat - vii * de**2 + viii * de**4 - ix * de**6
    lon_out = _LON0 + x * de - xi * de**3 + xii * de**5 - xiia * de**7
    return lat_out, lon_out


def _to_cartesian(lat: float, lon: float, a: float, b: float) -> tuple[float, float, float]:
    e2 = 1 - (b * b) / (a * a)
    nu = a / sqrt(1 - e2 * sin(lat) ** 2)
    return nu * cos(lat) * cos(lon), nu * cos(lat) * sin(lon), (1 - e2) * nu * sin(lat)


def _from_cartesian(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    e2 = 1 - (b * b) / (a * a)
    p = sqrt(x * x + y * y)
    lat = atan(z / (p * (1 - e2)))
    for _ in range(10):
        nu = a / sqrt(1 - e2 * sin(lat) ** 2)
        lat = atan((z + e2 * nu * sin(lat)) / p)
    return lat, atan2(y, x)


def grid_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """(latitude, longitude) in WGS84 decimal degrees for an OSGB36 grid reference in metres."""
    lat, lon = _grid_to_osgb36(easting, northing)
    x, y, z = _to_cartesian(lat, lon, _A, _B)
    s1 = 1 + _S
    x2 = _TX + s1 * x - _RZ * y + _RY * z
    y2 = _TY + _RZ * x + s1 * y - _RX * z
    z2 = _TZ - _RY * x + _RX * y + s1 * z
    lat_w, lon_w = _from_cartesian(x2, y2, z2, _WA, _WB)
    return degrees(lat_w), degrees(lon_w)
