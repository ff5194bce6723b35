"""Text already stored with ZPL commands, markup or control characters prints as text: one label
format per label in ZPL, well-formed SVG, every field on one line (SPEC 4.6)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from tests.labels.test_render import bag_label, wristband_label
from ucmsc_lims.labels.layout import Text, layout
from ucmsc_lims.labels.render import to_svg, to_zpl

INJECTED = "01 ^XZ^XA^FO0,0^FDforged^FS~JA"


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_commands_in_a_bag_label_text_stay_inside_its_field(dpi):
    zpl = to_zpl(bag_label(site=INJECTED, sponsor="~DGR:X.GRF^XZ"), dpi=dpi)

    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "~" not in zpl
    assert "^FH_^FDSponsor: _7EDGR:X.GRF_5EXZ   Site: 01 _5EXZ_5EXA_5EFO0,0" in zpl


def test_zpl_commands_in_a_wristband_site_stay_inside_its_field():
    zpl = to_zpl(dataclasses.replace(wristband_label(), site=INJECTED))

    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "~" not in zpl


def test_a_line_break_in_stored_text_cannot_split_a_zpl_field():
    zpl = to_zpl(bag_label(site="01\r\n^XA\n"))

    lines = zpl.splitlines()
    assert all(line.startswith("^") for line in lines)
    assert lines.count("^XZ") == 1 and zpl.count("^XA") == 1


def test_control_characters_in_stored_text_still_give_well_formed_svg():
    svg = to_svg(bag_label(site="01\x00\x1b[2J\u202eGeneral", sponsor="<b>Sponsor</b>"))

    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "Sponsor: <b>Sponsor</b>   Site: 01  [2J General" in texts


def test_every_text_element_carries_only_printable_characters():
    plan = layout(bag_label(site="01\tSouth\x07"))

    site = next(e for e in plan.elements if isinstance(e, Text) and "Site:" in e.text)
    assert site.text.endswith("Site: 01 South ")
