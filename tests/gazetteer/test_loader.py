import csv
from pathlib import Path

import pytest

from app.gazetteer import GazetteerError, load_gazetteer
from app.gazetteer.loader import BUILTIN_STATIONS
from tests.conftest import unavailable
from tests.gazetteer import lists
from tests.gazetteer.lists import FULL_LIST, builtin, full

CORPUS_STATIONS = """CLJ KGX BTN VXH FPK ECR BMH VIC LVC SLO PAD OXF GLD NCL WAT LBG HOV WRH HHY AFK GLQ
GLC BSW BHM RDG PRE LAN LDS DEW SWI CDF WIM PMH WOK NRW LST BRI TAU BTH EXD HHE CRW SVG BSK BDM DFD
SUN EDB YRK""".split()
LONDON_TERMINI = "WAT LST LBG VIC PAD EUS KGX STP CHX CST FST MYB BFR WAE".split()


def test_builtin_list_is_the_busiest_few_hundred() -> None:
    g = builtin()
    assert 300 <= len(g) <= 450
    assert g.stations[0].crs == "WAT"  # ranked by use
    assert all(s.area in ("B", "C", "D") for s in g.stations)


def test_builtin_file_has_the_documented_header() -> None:
    with BUILTIN_STATIONS.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == ["name", "crs", "lat", "lon", "country"]


@pytest.mark.parametrize("crs", CORPUS_STATIONS + LONDON_TERMINI)
def test_builtin_has_corpus_stations_and_london_termini(crs: str) -> None:
    assert builtin().get(crs) is not None


def test_builtin_is_loaded_once() -> None:
    assert load_gazetteer(None) is load_gazetteer(None)


def test_full_list_loads() -> None:
    g = full()
    assert len(g) == 2568
    kgx = g.get("KGX")
    assert kgx is not None and kgx.name == "London Kings Cross"
    assert abs(kgx.lat - 51.5309) < 0.001 and abs(kgx.lon + 0.1229) < 0.001
    assert g.get("GLC").area == "D"
    # alternative names from the file are names too
    assert [s.crs for s in g.lookup("Glasgow Central Low Level")] == ["GLC"]
    # ranks follow the built-in list, the rest come after
    assert g.get("WAT").rank < g.get("KGX").rank < g.get("ABE").rank


def _write(tmp_path: Path, text: str, name: str = "stations.csv") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_plain_csv_with_extra_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name,crs,lat,lon,country,alt_names,notes\n"
        "Testford Central,TFC,52.0,-1.0,England,Testford;Old Testford,busy\n"
        "Glenmock,GMK,56.5,-4.0,,,\n",
    )
    g = load_gazetteer(path)
    assert len(g) == 2
    assert g.get("tfc").name == "Testford Central"
    assert [s.crs for s in g.lookup("old testford")] == ["TFC"]
    assert g.get("GMK").area == "D"  # from the position: no country given
    assert g.get("GMK").country is None


def test_plain_csv_minimal_header_and_bom(tmp_path: Path) -> None:
    path = _write(tmp_path, "\ufeffname,crs,lat,lon\nA Place,APL,51.5,-0.1\n")
    assert load_gazetteer(path).get("APL").area == "B"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("name,crs,lat,lon\nX,KG,51,0\n", "line 2: bad CRS code 'KG'"),
        ("name,crs,lat,lon\nX,AAA,51,0\nY,BBB,north,0\n", "line 3: bad latitude 'north'"),
        ("name,crs,lat,lon\nX,AAA,51,0\nY,AAA,52,0\n", "line 3: CRS AAA already given on line 2"),
        ("name,crs,lat,lon\nX,AAA,0,51\n", "line 2: latitude '0' is outside Great Britain"),
        ("name,crs,lat,lon\n,AAA,51,0\n", "line 2: station name is empty"),
        ('name,crs,lat,lon\nA,AAA,51,0\n"B,BBB,52,0\n', "line 3: bad CRS code ''"),
        ("station,code\nX,AAA\n", "line 1: not a station list"),
        ("name,crs,lat,lon\n", "no stations in the file"),
        ("", "line 1: not a station list"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, body: str, fragment: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(GazetteerError) as err:
        load_gazetteer(path)
    assert fragment in err.value.message
    assert path in err.value.message
    assert "\n" not in err.value.message


def test_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.csv")
    with pytest.raises(GazetteerError, match=r"nope\.csv: cannot read"):
        load_gazetteer(path)


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "huge.csv"
    p.write_text("name,crs,lat,lon\nA,AAA,51,0\n" + "B" * 200_000 + ",BBB,52,0\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match=r"huge\.csv, line 3: malformed CSV"):
        load_gazetteer(str(p))


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.csv"
    p.write_bytes(b"name,crs,lat,lon\n\xff\xfe\x00garbage\n")
    with pytest.raises(GazetteerError, match="not UTF-8"):
        load_gazetteer(str(p))


NAPTAN = (
    '"AtcoCode","TiplocCode","CrsCode","StationName","StationNameLang","GridType","Easting","Northing",'
    '"CreationDateTime","ModificationDateTime","RevisionNumber","Modification"\n'
    '"9100CLPHMJC","CLPHMJC","CLJ","Clapham Junction Rail Station","","U","527200","175500",'
    '"2003-11-04T00:00:00","2006-09-18T18:24:34","1","rev"\n'
    '"9100CLPHMJ1","CLPHMJ1","CLJ","Clapham Junction Rail Station","","U","527200","175500",'
    '"2003-11-04T00:00:00","2006-09-18T18:24:34","1","rev"\n'
    '"9100CLPHMJW","CLPHMJW","CLJ","Clapham Junction (West London Line) Rail Station","","U","527100","175600",'
    '"2003-11-04T00:00:00","2006-09-18T18:24:34","1","rev"\n'
    '"9100GLGC","GLGC","GLC","Glasgow Central Rail Station","","U","258794","665257",'
    '"2003-11-04T00:00:00","2006-09-18T18:24:34","1","rev"\n'
)


def test_naptan_rail_references(tmp_path: Path) -> None:
    g = load_gazetteer(_write(tmp_path, NAPTAN, "RailReferences.csv"))
    assert len(g) == 2  # deduplicated by CRS
    clj = g.get("CLJ")
    assert clj.name == "Clapham Junction"  # " Rail Station" stripped
    assert "Clapham Junction (West London Line)" in clj.alt_names
    assert abs(clj.lat - 51.4645) < 0.002 and abs(clj.lon + 0.1705) < 0.002
    glc = g.get("GLC")
    assert abs(glc.lat - 55.859755) < 0.0001 and abs(glc.lon + 4.257643) < 0.0001
    assert glc.area == "D" and clj.area == "B"
    assert [s.crs for s in g.lookup("clapham jn")] == ["CLJ"]


def test_naptan_bad_easting(tmp_path: Path) -> None:
    body = (
        NAPTAN.splitlines()[0]
        + '\n"9100X","X","XXX","X Rail Station","","U","east","1",'
        + '"","","1","new"\n'
    )
    with pytest.raises(GazetteerError, match=r"line 2: bad easting 'east'"):
        load_gazetteer(_write(tmp_path, body))


def test_full_list_path_is_relative_to_the_repo() -> None:
    assert FULL_LIST.parts[-3:] == ("tests", "data", "gb_rail_stations.csv")
    assert len(full()) == 2568


def test_the_odbl_supplement_loads_as_a_plain_list() -> None:
    path = FULL_LIST.parents[2].parent / "shared" / "data" / "gb_rail_stations_additions_odbl.csv"
    if not path.is_file():
        unavailable("the shared ODbL station supplement", f"missing at {path}")
    g = load_gazetteer(str(path))
    assert len(g) == 33
    assert all(s.area in ("B", "C", "D") for s in g.stations)


def test_full_list_is_required_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lists, "FULL_LIST", tmp_path / "absent.csv")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true requires it"):
        lists.full()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="full station list not found"):
        lists.full()
