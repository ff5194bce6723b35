"""Label rendering: symbols read back by an independent decoder, text, sheets, ZPL, blinding."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from ucmsc_lims.labels.content import BagLabel, LotLabel, WristbandLabel
from ucmsc_lims.labels.fonts import LATIN
from ucmsc_lims.labels.layout import (
    LINEAR_QUIET_MM,
    PT_MM,
    Box,
    Linear,
    Text,
    fitted_size,
    layout,
)
from ucmsc_lims.labels.render import to_pdf, to_png, to_svg, to_zpl
from ucmsc_lims.labels.sheet import sheet_grid
from ucmsc_lims.labels.symbols import BAR_HEIGHT_MM, X_DIMENSION_MM, code128

QR = zxingcpp.BarcodeFormat.QRCode
CODE128 = zxingcpp.BarcodeFormat.Code128
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def bag_label(**changes: object) -> BagLabel:
    values: dict[str, object] = {
        "study_code": "UCMSC-LC-01",
        "bag_code": "7K3M9QX2TB01H",
        "bag_id": "7K3M9QX2TB",
        "subject_id": "01-023",
        "dose_number": 1,
        "dose_count": 3,
        "volume_ml": 100,
        "expires_at": datetime(2026, 3, 12, 6, 30, tzinfo=UTC),
        "timezone": "Asia/Shanghai",
        "sponsor": "Example Sponsor Ltd",
        "site": "01 Shanghai General",
    }
    values.update(changes)
    return BagLabel(**values)  # type: ignore[arg-type]


def lot_label(**changes: object) -> LotLabel:
    values: dict[str, object] = {
        "din_data": "=G12342612345600",
        "din_text": "G123426123456",
        "din_check": "H",
        "product_code_data": "=<S1001V00",
        "product_description": "UC-MSC cell bank, cryopreserved",
        "collection_data": "&*0260711030",
        "collection_text": "2026-03-12 10:30 CST",
        "expiry_data": "&>0270711030",
        "expiry_text": "2027-03-12 10:30 CST",
    }
    values.update(changes)
    return LotLabel(**values)  # type: ignore[arg-type]


def wristband_label() -> WristbandLabel:
    return WristbandLabel(
        subject_id="01-023",
        wristband_code="01-023K",
        initials="L.W.",
        date_of_birth=date(1961, 4, 2),
        site="01 Shanghai General",
    )


def decoded(image: Image.Image) -> list[tuple[zxingcpp.BarcodeFormat, str]]:
    return sorted(((b.format, b.text) for b in zxingcpp.read_barcodes(image)), key=str)


def decoded_png(png: bytes) -> list[tuple[zxingcpp.BarcodeFormat, str]]:
    return decoded(Image.open(io.BytesIO(png)))


def rasterized(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm (poppler-utils) is required in CI to rasterize label PDFs")
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot rasterize the PDF")
    (tmp_path / "labels.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "300", "-png", str(tmp_path / "labels.pdf"), str(tmp_path / "page")],
        check=True,
    )
    return [Image.open(page) for page in sorted(tmp_path.glob("page*.png"))]


# Symbols read back by zxing-cpp


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_bag_label_png_symbols_both_carry_the_bag_code(dpi: int) -> None:
    label = bag_label()
    assert decoded_png(to_png(label, dpi=dpi)) == sorted(
        [(CODE128, label.bag_code), (QR, label.bag_code)], key=str
    )


def test_lot_label_png_has_one_linear_symbol_per_isbt_data_structure() -> None:
    label = lot_label()
    linear = [text for kind, text in decoded_png(to_png(label)) if kind == CODE128]
    assert sorted(linear) == sorted(
        ["=G12342612345600", "=<S1001V00", "&*0260711030", "&>0270711030"]
    )


def test_lot_label_2d_symbol_carries_every_data_structure_as_a_compound_message() -> None:
    label = lot_label()
    matrix = [text for kind, text in decoded_png(to_png(label)) if kind == QR]
    assert matrix == ["=+04000=G12342612345600=<S1001V00&*0260711030&>0270711030"]


def test_lot_label_symbols_never_carry_the_din_check_character() -> None:
    label = lot_label(din_check="Z")
    assert all("Z" not in text for _, text in decoded_png(to_png(label)))


def test_wristband_png_symbols_both_carry_the_wristband_code() -> None:
    label = wristband_label()
    assert decoded_png(to_png(label)) == sorted([(CODE128, "01-023K"), (QR, "01-023K")], key=str)


@settings(max_examples=25, deadline=None)
@given(
    bag_id=st.text(alphabet=CROCKFORD, min_size=10, max_size=10),
    issue=st.integers(min_value=1, max_value=99),
    check=st.sampled_from(CROCKFORD + "*"),
)
def test_any_bag_code_reads_back_from_the_png(bag_id: str, issue: int, check: str) -> None:
    code = f"{bag_id}{issue:02d}{check}"
    assert decoded_png(to_png(bag_label(bag_code=code, bag_id=bag_id))) == sorted(
        [(CODE128, code), (QR, code)], key=str
    )


def test_a_bag_code_starting_with_99_keeps_its_leading_digits() -> None:
    # python-barcode 0.16 would read a leading '99' as a subset switch and drop it.
    code = "9900000000010"
    assert decoded_png(to_png(bag_label(bag_code=code))) == sorted(
        [(CODE128, code), (QR, code)], key=str
    )


@settings(max_examples=40, deadline=None)
@given(code=st.text(alphabet="0123456789-AKZ=&<>*+", min_size=1, max_size=9))
def test_any_wristband_code_reads_back_from_the_png(code: str) -> None:
    label = dataclasses.replace(wristband_label(), wristband_code=code)
    assert decoded_png(to_png(label)) == sorted([(CODE128, code), (QR, code)], key=str)


def test_single_label_pdf_rasterized_at_300_dpi_reads_back_the_bag_code(tmp_path: Path) -> None:
    label = bag_label()
    (page,) = rasterized(to_pdf([label]), tmp_path)
    assert decoded(page) == sorted([(CODE128, label.bag_code), (QR, label.bag_code)], key=str)


def test_a4_sheet_rasterized_at_300_dpi_reads_back_every_lot_symbol(tmp_path: Path) -> None:
    label = lot_label()
    (page,) = rasterized(to_pdf([label, label], stock="a4"), tmp_path)
    texts = [text for _, text in decoded(page)]
    assert sorted(set(texts)) == sorted([*label.structures, label.compound_message])
    assert len(texts) == 10


# PDF


def test_pdf_text_names_the_subject_and_the_expiry() -> None:
    label = bag_label()
    text = PdfReader(io.BytesIO(to_pdf([label]))).pages[0].extract_text()
    assert "01-023" in text
    assert "2026-03-12 14:30 CST (Asia/Shanghai)" in text


def test_single_stock_gives_one_label_sized_page_per_label() -> None:
    reader = PdfReader(io.BytesIO(to_pdf([bag_label(), bag_label()])))
    assert len(reader.pages) == 2
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (100, 50)


@pytest.mark.parametrize("stock", ["a4", "letter"])
def test_office_sheets_hold_bag_labels_two_across_and_five_down(stock: str) -> None:
    grid = sheet_grid(stock, (100.0, 50.0))  # type: ignore[arg-type]
    assert (grid.columns, grid.rows) == (2, 5)


def test_a_hundred_bag_labels_fill_ten_a4_sheets() -> None:
    labels = [bag_label(subject_id=f"01-{n:03d}") for n in range(100)]
    reader = PdfReader(io.BytesIO(to_pdf(labels, stock="a4")))
    assert len(reader.pages) == 10
    assert "01-099" in reader.pages[9].extract_text()


def test_unknown_stock_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="single, a4 or letter"):
        to_pdf([bag_label()], stock="a3")  # type: ignore[arg-type]


def test_chinese_labels_use_the_cjk_font_in_pdf() -> None:
    pdf = to_pdf([bag_label(language="zh_Hans", sponsor="示例申办方")])
    assert b"STSong-Light" in pdf
    assert "示例申办方" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


# ZPL


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_is_one_utf8_label_format(dpi: int) -> None:
    zpl = to_zpl(bag_label(), dpi=dpi)
    assert zpl.startswith("^XA\n^CI28\n")
    assert zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == zpl.count("^XZ") == 1


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_symbols_carry_the_exact_bag_code(dpi: int) -> None:
    zpl = to_zpl(bag_label(), dpi=dpi)
    assert re.search(r"\^BCN,\d+,N,N,N,A\^FD7K3M9QX2TB01H\^FS", zpl)
    assert re.search(r"\^BQN,2,\d+\^FDMA,7K3M9QX2TB01H\^FS", zpl)


def test_zpl_lot_label_carries_every_isbt_structure_unaltered() -> None:
    label = lot_label()
    zpl = to_zpl(label)
    for structure in label.structures:
        assert f"^FD{structure}^FS" in zpl


def test_zpl_prints_the_degree_sign_as_utf8_text() -> None:
    assert "^FDStore at 2–8 °C. Do not freeze.^FS" in to_zpl(bag_label())


def test_zpl_escapes_a_caret_in_text_so_it_cannot_start_a_command() -> None:
    zpl = to_zpl(bag_label(sponsor="A^B"))
    assert "^FH_^FDSponsor: A_5EB" in zpl


def test_zpl_refuses_a_printer_resolution_it_was_not_laid_out_for() -> None:
    with pytest.raises(ValueError, match="dpi"):
        to_zpl(bag_label(), dpi=600)


# Symbol geometry and layout


def test_symbol_data_that_would_break_a_zpl_field_is_refused() -> None:
    with pytest.raises(ValueError, match="characters no label symbol may carry"):
        code128("AB^XZ")


@pytest.mark.parametrize("label", [bag_label(), lot_label(), wristband_label()], ids=type)
def test_linear_symbols_follow_isbt_geometry_with_clear_quiet_zones(label: object) -> None:
    plan = layout(label)  # type: ignore[arg-type]
    symbols = [e for e in plan.elements if isinstance(e, Linear)]
    assert symbols
    for symbol in symbols:
        assert symbol.height == BAR_HEIGHT_MM
        assert abs(X_DIMENSION_MM - 0.25) < 0.01
        assert LINEAR_QUIET_MM >= 2.5
        assert symbol.x >= LINEAR_QUIET_MM
        assert symbol.x + symbol.pattern.width_mm + LINEAR_QUIET_MM <= plan.width + 1e-9


@pytest.mark.parametrize("label", [bag_label(), lot_label(), wristband_label()], ids=type)
def test_no_text_runs_off_the_label(label: object) -> None:
    plan = layout(label)  # type: ignore[arg-type]
    for text in (e for e in plan.elements if isinstance(e, Text)):
        font = LATIN.pdf_bold if text.bold else LATIN.pdf_regular
        size = fitted_size(text, lambda s, pt, f=font: stringWidth(s, f, pt) * PT_MM)
        width = stringWidth(text.text, font, size) * PT_MM
        left = {"left": text.x, "right": text.x - width, "center": text.x - width / 2}[text.align]
        assert left >= 0 and left + width <= plan.width + 1e-6, text.text
        assert size * PT_MM <= text.baseline <= plan.height, text.text


def test_lot_label_prints_the_check_character_boxed_beside_the_din() -> None:
    plan = layout(lot_label())
    check = next(e for e in plan.elements if isinstance(e, Text) and e.text == "H")
    din = next(e for e in plan.elements if isinstance(e, Text) and e.text == "G1234 26 123456")
    box = next(e for e in plan.elements if isinstance(e, Box) and not e.filled)
    assert box.x < check.x < box.x + box.width
    assert box.y < check.baseline < box.y + box.height
    assert check.baseline == din.baseline and box.x > din.x


def test_svg_preview_is_true_size_in_millimetres() -> None:
    svg = to_svg(bag_label())
    assert 'width="100mm" height="50mm" viewBox="0 0 100 50"' in svg


def test_label_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _ = bag_label(expires_at=datetime(2026, 3, 12, 6, 30)).expiry_text


# Blinding by construction (SPEC 4.6)


def _masked(svg: str, label: BagLabel) -> str:
    # The symbols encode the ids, so their geometry is masked along with ids, dates and numbers.
    svg = re.sub(r'(<g class="symbol"[^>]*>).*?</g>', r"\1</g>", svg)
    for identifier in (label.bag_code, label.bag_id, label.subject_id):
        svg = svg.replace(identifier, "ID")
    return re.sub(r"\d+(\.\d+)?", "#", svg)


def test_bag_labels_of_either_arm_are_identical_once_ids_dates_and_numbers_are_masked() -> None:
    arm_a_bag = bag_label()
    arm_b_bag = bag_label(
        bag_code="Q4ZP1WR8HM03X",
        bag_id="Q4ZP1WR8HM",
        subject_id="02-117",
        dose_number=2,
        expires_at=arm_a_bag.expires_at + timedelta(days=41, hours=3, minutes=17),
    )
    assert to_svg(arm_a_bag) != to_svg(arm_b_bag)
    assert _masked(to_svg(arm_a_bag), arm_a_bag) == _masked(to_svg(arm_b_bag), arm_b_bag)


def test_bag_label_has_no_field_that_could_carry_the_arm_or_its_source() -> None:
    names = [field.name for field in dataclasses.fields(BagLabel)]
    assert names
    for forbidden in ("arm", "lot", "product", "cell"):
        assert not [name for name in names if forbidden in name.lower()], forbidden
