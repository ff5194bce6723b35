"""The wristband label of a patient (SPEC 3, 4.6) in every output format: a preview, not a print."""

from __future__ import annotations

from flask import Response

from ..labels.content import WristbandLabel
from ..labels.render import to_pdf, to_png, to_svg, to_zpl
from .models import Patient

FORMATS = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
    "zpl": "text/plain",
}


def label_of(patient: Patient) -> WristbandLabel:
    return WristbandLabel(
        subject_id=patient.subject_id, wristband_code=patient.code, initials=patient.initials,
        date_of_birth=patient.date_of_birth, site=patient.site,
    )


def render(patient: Patient, fmt: str) -> Response:
    label = label_of(patient)
    if fmt == "svg":
        body: str | bytes = to_svg(label)
    elif fmt == "png":
        body = to_png(label)
    elif fmt == "pdf":
        body = to_pdf([label])
    else:
        body = to_zpl(label)
    response = Response(body, mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = (
        f'inline; filename="wristband-{patient.subject_id}.{fmt}"'
    )
    return response
