"""The Daily Climate Report parser, on every CLI fixture in the shared data."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from daemon.weather.cli_report import parse_cli, parse_cli_product, settled_high
from daemon.weather.errors import WeatherParseError

CLI_DIRS = ("nws_cli_2026", "iem_cli_2026", "nws_text_products", "nws_api")

# file -> (summary day, block, max °F, max flag, final?) of the first summary; checked by eye against the text.
GOLDEN: dict[str, tuple[str, str | None, int | None, str | None, bool]] = {
    "nws_cli_2026/nyc_final.txt": ("2026-07-08", "YESTERDAY", 85, None, True),
    "nws_cli_2026/nyc_intermediate.txt": ("2026-07-09", "TODAY", 82, None, False),
    "nws_cli_2026/nyc_record.txt": ("2026-07-02", "YESTERDAY", 100, "R", True),
    "nws_cli_2026/chi_final.txt": ("2026-07-08", "YESTERDAY", 89, None, True),
    "nws_cli_2026/chi_intermediate.txt": ("2026-07-09", "TODAY", 87, None, False),
    "nws_cli_2026/aus_final.txt": ("2026-07-08", "YESTERDAY", 99, None, True),
    "nws_cli_2026/aus_intermediate.txt": ("2026-07-09", "TODAY", 98, None, False),
    "nws_cli_2026/den_final.txt": ("2026-07-08", "YESTERDAY", 94, None, True),
    "nws_cli_2026/den_intermediate.txt": ("2026-07-09", "TODAY", 65, None, False),
    "nws_cli_2026/mia_final.txt": ("2026-07-08", "YESTERDAY", 92, None, True),
    "nws_cli_2026/mia_intermediate.txt": ("2026-07-09", "TODAY", 92, None, False),
    "nws_cli_2026/phl_final.txt": ("2026-07-08", "YESTERDAY", 86, None, True),
    "nws_cli_2026/phl_intermediate.txt": ("2026-07-09", "TODAY", 81, None, False),
    "iem_cli_2026/text_clinyc_202607100625.txt": ("2026-07-09", "YESTERDAY", 82, None, True),
    "nws_text_products/CLI/CLIABY.txt": ("2014-09-29", "YESTERDAY", 79, None, True),
    "nws_text_products/CLI/CLIACT.txt": ("2014-12-15", "TODAY", 69, None, False),
    "nws_text_products/CLI/CLIALO.txt": ("2014-01-03", "TODAY", 19, None, False),
    "nws_text_products/CLI/CLIANC.txt": ("2017-03-14", "YESTERDAY", 23, None, True),
    "nws_text_products/CLI/CLIANN.txt": ("2015-03-02", "YESTERDAY", 53, "R", True),
    "nws_text_products/CLI/CLIBET.txt": ("2014-01-01", "YESTERDAY", 17, None, True),
    "nws_text_products/CLI/CLIBGR.txt": ("2014-11-02", "YESTERDAY", 35, None, True),
    "nws_text_products/CLI/CLIBNA.txt": ("2015-10-19", "TODAY", 47, None, False),
    "nws_text_products/CLI/CLIBOI.txt": ("2014-12-29", "TODAY", 28, None, False),
    "nws_text_products/CLI/CLICKV.txt": ("2014-12-29", "YESTERDAY", 39, None, True),
    "nws_text_products/CLI/CLICVG.txt": ("2020-04-22", "YESTERDAY", 69, None, True),
    "nws_text_products/CLI/CLICVG_2007.txt": ("2007-06-30", "YESTERDAY", 82, None, True),
    "nws_text_products/CLI/CLICVG_colon.txt": ("2021-02-04", "YESTERDAY", 39, None, True),
    "nws_text_products/CLI/CLICVG_newer.txt": ("2020-04-22", "YESTERDAY", 70, None, True),
    "nws_text_products/CLI/CLICVG_older.txt": ("2020-04-22", "YESTERDAY", 68, None, True),
    "nws_text_products/CLI/CLICVG_tab.txt": ("2013-05-09", "YESTERDAY", 81, None, True),
    "nws_text_products/CLI/CLIDCA.txt": ("2026-06-28", "YESTERDAY", 76, None, True),
    "nws_text_products/CLI/CLIDMH.txt": ("2019-05-09", "YESTERDAY", 74, None, True),
    "nws_text_products/CLI/CLIDRT.txt": ("2014-12-29", "TODAY", 42, None, False),
    "nws_text_products/CLI/CLIDSM.txt": ("2013-08-01", "YESTERDAY", 89, None, True),
    "nws_text_products/CLI/CLIDSM2.txt": ("2014-10-12", "TODAY", 56, None, False),
    "nws_text_products/CLI/CLIEAR.txt": ("2014-11-13", "TODAY", 25, None, False),
    "nws_text_products/CLI/CLIECP.txt": ("2014-12-29", "TODAY", 70, None, False),
    "nws_text_products/CLI/CLIEKA.txt": ("2014-12-28", "YESTERDAY", 55, None, True),
    "nws_text_products/CLI/CLIEST.txt": ("2014-10-12", "YESTERDAY", 62, None, True),
    "nws_text_products/CLI/CLIEWN.txt": ("2014-09-28", "YESTERDAY", 83, None, True),
    "nws_text_products/CLI/CLIFFC.txt": ("2014-10-03", "TODAY", 79, None, False),
    "nws_text_products/CLI/CLIFMY.txt": ("2014-12-29", "TODAY", None, None, False),
    "nws_text_products/CLI/CLIHOU.txt": ("2014-11-30", "YESTERDAY", 80, None, True),
    "nws_text_products/CLI/CLIICT.txt": ("2014-12-29", "TODAY", None, None, False),
    "nws_text_products/CLI/CLIJNU.txt": ("2013-06-30", "TODAY", 75, None, False),
    "nws_text_products/CLI/CLILWD.txt": ("2017-05-29", "YESTERDAY", 76, None, True),
    "nws_text_products/CLI/CLIMAI.txt": ("2014-12-29", "TODAY", 69, None, False),
    "nws_text_products/CLI/CLIMBS.txt": ("2014-12-29", "YESTERDAY", 29, None, True),
    "nws_text_products/CLI/CLIMSO.txt": ("2014-12-29", "TODAY", None, None, False),
    "nws_text_products/CLI/CLIMSO_2.txt": ("2015-01-09", "TODAY", None, None, False),
    "nws_text_products/CLI/CLIMUO.txt": ("2021-06-23", "YESTERDAY", 92, None, True),
    "nws_text_products/CLI/CLIMYV.txt": ("2022-11-12", "YESTERDAY", 60, None, True),
    "nws_text_products/CLI/CLINYC.txt": ("2013-01-02", "YESTERDAY", 33, None, True),
    "nws_text_products/CLI/CLIOLF.txt": ("2014-12-29", "TODAY", 1, None, False),
    "nws_text_products/CLI/CLIOME.txt": ("2014-10-23", "YESTERDAY", 33, None, True),
    "nws_text_products/CLI/CLIOME_2.txt": ("2006-11-08", "YESTERDAY", 29, None, True),
    "nws_text_products/CLI/CLIPPG.txt": ("2020-12-28", "TODAY", 89, None, False),
    "nws_text_products/CLI/CLIPPG2.txt": ("2021-06-23", "TODAY", 86, None, False),
    "nws_text_products/CLI/CLIPPG3.txt": ("2022-02-06", "TODAY", 89, None, False),
    "nws_text_products/CLI/CLIPPG4.txt": ("2023-03-30", "YESTERDAY", 86, None, True),
    "nws_text_products/CLI/CLIRDU.txt": ("2021-03-19", "YESTERDAY", 57, "E", True),
    "nws_text_products/CLI/CLIRDU_v2.txt": ("2021-03-20", "YESTERDAY", 57, "E", True),
    "nws_text_products/CLI/CLISAD.txt": ("2021-08-06", "TODAY", None, None, False),
    "nws_text_products/CLI/CLISEW.txt": ("2014-12-29", "YESTERDAY", 44, None, True),
    "nws_text_products/CLI/CLITCS.txt": ("2014-12-29", "YESTERDAY", 60, None, True),
}


def _is_cli(path: Path) -> bool:
    if path.suffix != ".txt":
        return False
    text = path.read_text(errors="replace")
    return "CLIMATE SUMMARY" in text or path.name.upper().startswith("CLI")


def _all_cli_files(shared_data: Path) -> list[str]:
    root = shared_data / "fixtures"
    found = []
    for folder in CLI_DIRS:
        if (root / folder).exists():
            found += [str(p.relative_to(root)) for p in sorted((root / folder).rglob("*")) if p.is_file() and _is_cli(p)]
    return found


def test_golden_table_covers_every_cli_fixture(shared_data: Path) -> None:
    """A CLI dropped into the fixtures without a golden row fails here, so nothing goes untested."""
    assert sorted(_all_cli_files(shared_data)) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_every_cli_fixture(shared_data: Path, name: str) -> None:
    text = (shared_data / "fixtures" / name).read_text(errors="replace")
    report = parse_cli(text)
    day, block, high, flag, final = GOLDEN[name]
    assert (report.summary_day.isoformat(), report.block, report.max_f, report.max_flag, report.is_final) == (
        day, block, high, flag, final,
    )
    assert report.pil and report.pil.startswith("CLI")
    assert report.final_high_for(report.summary_day) == (high if final else None)
    if report.block == "TODAY":
        assert report.final_high_for(report.summary_day) is None  # intra-day reports never settle


def test_issuance_times_match_the_api_metadata(shared_data: Path) -> None:
    folder = shared_data / "fixtures" / "nws_cli_2026"
    meta = json.loads((folder / "meta.json").read_text())
    checked = 0
    for city, items in meta.items():
        for item in items:
            path = folder / f"{city}_{item['kind']}.txt"
            if path.exists():
                assert parse_cli(path.read_text()).issued_at == datetime.fromisoformat(item["issuanceTime"])
                checked += 1
    assert checked >= 12


def test_iem_listing_matches_its_text(shared_data: Path) -> None:
    folder = shared_data / "fixtures" / "iem_cli_2026"
    listing = json.loads((folder / "list_clinyc_20260710.json").read_text())["data"]
    report = parse_cli((folder / "text_clinyc_202607100625.txt").read_text())
    entry = next(e for e in listing if e["product_id"].startswith("202607100625"))
    assert report.issued_at == datetime.fromisoformat(entry["entered"])
    assert report.pil == entry["pil"] and report.office == entry["cccc"]


def test_multi_station_products(shared_data: Path) -> None:
    cli = shared_data / "fixtures" / "nws_text_products" / "CLI"
    houston = parse_cli_product((cli / "CLIHOU.txt").read_text())
    assert [(r.station_name, r.max_f) for r in houston] == [("HOUSTON INTERCONTINENTAL", 80), ("HOUSTON/HOBBY AIRPORT", 79)]
    alaska = parse_cli_product((cli / "CLIANC.txt").read_text())
    assert len(alaska) == 6 and alaska[0].station_name == "ANCHORAGE AK"


def test_corrections(shared_data: Path) -> None:
    cli = shared_data / "fixtures" / "nws_text_products" / "CLI"
    cca = parse_cli((cli / "CLIRDU_v2.txt").read_text())
    assert cca.wmo_bbb == "CCA" and cca.is_correction
    titled = parse_cli((cli / "CLIEWN.txt").read_text())  # "CLIMATE REPORT (CORRECTION)", no BBB
    assert titled.is_correction and titled.wmo_bbb is None
    retransmitted = parse_cli((cli / "CLIEST.txt").read_text())  # RRA is a delayed send, not a correction
    assert retransmitted.wmo_bbb == "RRA" and not retransmitted.is_correction
    assert not parse_cli((cli / "CLIRDU.txt").read_text()).is_correction


def test_a_later_correction_supersedes(shared_data: Path) -> None:
    text = (shared_data / "fixtures" / "nws_cli_2026" / "nyc_final.txt").read_text()
    original = parse_cli(text)
    corrected_text = (
        text.replace("CDUS41 KOKX 090626", "CDUS41 KOKX 090705 CCA")
        .replace("226 AM EDT THU JUL 09 2026", "305 AM EDT THU JUL 09 2026")
        .replace("  MAXIMUM         85    347 PM", "  MAXIMUM         86    347 PM")
    )
    corrected = parse_cli(corrected_text)
    assert corrected.is_correction and corrected.max_f == 86
    intermediate = parse_cli((shared_data / "fixtures" / "nws_cli_2026" / "nyc_intermediate.txt").read_text())
    day = date(2026, 7, 8)
    assert settled_high([original], day) == 85
    assert settled_high([corrected, original], day) == 86
    assert settled_high([intermediate], date(2026, 7, 9)) is None  # TODAY is never final
    assert settled_high([original, intermediate], date(2026, 7, 9)) is None


def test_missing_maximum_is_none_not_a_guess(shared_data: Path) -> None:
    text = (shared_data / "fixtures" / "nws_cli_2026" / "chi_final.txt").read_text()
    line = next(line for line in text.splitlines() if line.strip().startswith("MAXIMUM"))
    parts = line.split()
    missing = text.replace(line, line.replace(f" {parts[1]} ", " MM ", 1))
    report = parse_cli(missing)
    assert report.max_f is None and report.is_final
    assert settled_high([report], report.summary_day) is None


def test_negative_values(shared_data: Path) -> None:
    report = parse_cli((shared_data / "fixtures" / "nws_text_products" / "CLI" / "CLIALO.txt").read_text())
    assert report.min_f == -21


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "000\nCDUS41 KOKX 090626\nCLINYC\n\nCLIMATE REPORT\nGARBAGE ONLY\n",
     "...THE CENTRAL PARK NY CLIMATE SUMMARY FOR SMARCH 8 2026...\n"],
)  # fmt: skip
def test_not_a_climate_report(text: str) -> None:
    with pytest.raises(WeatherParseError):
        parse_cli(text)


@pytest.mark.parametrize("name", ["CF6/CF6DSM.txt", "DSM/DSM.txt", "MOS/NBS_12Z.txt", "CF6/CF6DSM_bad.txt",
                                  "CF6/CF6DSM_empty.txt", "DSM/DSM_allmissing.txt", "MOS/NBSUSA_empty.txt"])  # fmt: skip
def test_other_products_are_refused(shared_data: Path, name: str) -> None:
    text = (shared_data / "fixtures" / "nws_text_products" / name).read_text(errors="replace")
    with pytest.raises(WeatherParseError):
        parse_cli(text)


def test_truncated_report_yields_no_value(shared_data: Path) -> None:
    text = (shared_data / "fixtures" / "nws_cli_2026" / "nyc_final.txt").read_text()
    cut = text[: text.index("TEMPERATURE (F)")]
    report = parse_cli(cut)
    assert report.block is None and report.max_f is None and not report.is_final
