"""Custody pages: locations and their labels, hand-offs by scanning, ward receipt, shipments,
logger files and excursions (SPEC 4.7)."""

from __future__ import annotations

from functools import partial

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.errors import DomainError
from ..core.permissions import requires
from ..labels.download import label_response
from ..labels.forms import LabelPrintForm
from ..labels.render import FORMATS, render
from ..navigation import NavEntry
from . import labels, service, shipments
from .forms import (
    DispatchForm,
    DispositionForm,
    HandoffForm,
    LocationForm,
    LoggerForm,
    ReceiveForm,
    ShipmentBagForm,
    ShipmentForm,
)

bp = Blueprint("custody", __name__, url_prefix="/custody")

NAV_ENTRIES = [
    NavEntry(_l("Hand-off"), "custody.handoff", "custody.record"),
    NavEntry(_l("Receive"), "custody.receive", "custody.receive"),
    NavEntry(_l("Shipments"), "custody.shipment_list", "custody.read"),
    NavEntry(_l("Locations"), "custody.manage_locations", "location.manage"),
]


def _temperature(field) -> float | None:
    return float(field.data) if field.data is not None else None


# --- Locations ---------------------------------------------------------------------------------


def _label_form(code: str) -> LabelPrintForm:
    return LabelPrintForm(prefix=f"label-{code}")


def _locations_page(form: LocationForm | None, status: int = 200):
    found = service.list_locations()
    return render_template("custody/locations.html", locations=found, form=form,
                           label_formats=list(FORMATS),
                           label_forms={loc.code: _label_form(loc.code) for loc in found}), status


@bp.route("/locations")
@requires("location.read")
def locations():
    return _locations_page(None)


@bp.route("/locations/manage", methods=["GET", "POST"])
@requires("location.manage")
def manage_locations():
    form = LocationForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                location = service.create_location(code=form.code.data, name=form.name.data,
                                                   kind=form.kind.data, by=current_user)
            except DomainError as refused:
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Location %(code)s added.", code=location.code), "success")
                return redirect(url_for("custody.manage_locations"))
        else:
            status = 400
    return _locations_page(form, status)


def _label_preview(code: str, fmt: str) -> Response:
    return label_response(*render(labels.location_label(service.get_location(code)), fmt))


@bp.route("/locations/<code>/label.<any(svg, png, pdf, zpl):fmt>")
@requires("location.read")
def location_label(code: str, fmt: str):
    """A preview of the location's label: nothing recorded (SPEC 4.6)."""
    return _label_preview(code, fmt)


@bp.route("/locations/<code>/label.manage.<any(svg, png, pdf, zpl):fmt>")
@requires("location.manage")
def location_label_for_admin(code: str, fmt: str):
    """The same preview for the admin who adds locations (and may not print)."""
    return _label_preview(code, fmt)


@bp.route("/locations/<code>/label/prints", methods=["POST"])
@requires("label.print")
def print_location(code: str):
    form = _label_form(code)
    try:
        if not form.validate_on_submit():
            raise DomainError(_("Choose the label format."))
        location = service.get_location(code)
        body, mimetype = labels.print_location_label(location, fmt=form.format.data,
                                                     by=current_user)
    except DomainError as refused:
        flash(refused.message, "error")
        return _locations_page(None, refused.status)
    return label_response(body, mimetype,
                          filename=f"{location.code}-label.{form.format.data}")


# --- Hand-off and receipt ----------------------------------------------------------------------


@bp.route("/handoff", methods=["GET", "POST"])
@requires("custody.record")
def handoff():
    form = HandoffForm(data={"to_location": request.args.get("to", "")})
    status, event = 200, None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                bag = service.bag_for_scan(form.bag.data)
                to_location = service.get_location(form.to_location.data)
                from_location = (service.get_location(form.from_location.data)
                                 if form.from_location.data else None)
                destination = (service.get_location(form.destination.data)
                               if form.destination.data else None)
                event = service.record_handoff(
                    bag, to_location=to_location, by=current_user,
                    temperature_c=_temperature(form.temperature_c),
                    condition=form.condition.data, from_location=from_location,
                    destination=destination)
            except DomainError as refused:
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Bag %(bag)s handed off to %(to)s.", bag=bag.bag_id,
                        to=to_location.code), "success")
                form.bag.data = ""
        else:
            status = 400
    return render_template("custody/handoff.html", form=form, event=event), status


@bp.route("/receive", methods=["GET", "POST"])
@requires("custody.receive")
def receive():
    ward_code = session.get("ward")
    ward = service.ward_for_session(ward_code)
    form = ReceiveForm()
    status = 200
    if request.method == "POST":
        if ward is None:
            flash(_("No ward chosen: scan the ward's location label on the bedside page."),
                  "error")
            status = 422
        elif form.validate_on_submit():
            try:
                bag = service.bag_for_scan(form.bag.data)
                service.receive_on_ward(bag, ward=ward, by=current_user,
                                        temperature_c=_temperature(form.temperature_c),
                                        condition=form.condition.data)
            except DomainError as refused:
                flash(refused.message, "error")
                status = refused.status
            else:
                flash(_("Bag %(bag)s received on %(ward)s.", bag=bag.bag_id, ward=ward.code),
                      "success")
                return redirect(url_for("custody.receive"))
        else:
            status = 400
    expected = service.bags_in_transit_to(ward.code) if ward else []
    return render_template("custody/receive.html", form=form, ward=ward, expected=expected
                           ), status


@bp.route("/bags/<bag_id>")
@requires("bag.read")
def chain(bag_id: str):
    from ..bagging import service as bagging

    bag = bagging.get_bag(bag_id)
    return render_template("custody/chain.html", bag=bag, events=service.events_of(bag),
                           ward=session.get("ward"),
                           status=service.chain_status(bag, bag.destination_ward))


# --- Shipments, logger files, excursions -------------------------------------------------------
# Each form posts to its own route, which declares the permission of that action: reading the
# shipment pages needs custody.read, and the guard refuses any other action before it runs.


def _shipments_page(form: ShipmentForm, status: int = 200):
    return render_template("custody/shipments.html", shipments=shipments.list_shipments(),
                           form=form, excursions=shipments.list_excursions(only_open=True)
                           ), status


@bp.get("/shipments")
@requires("custody.read")
def shipment_list():
    return _shipments_page(ShipmentForm(formdata=None))


@bp.post("/shipments")
@requires("custody.record")
def shipment_create():
    form = ShipmentForm()
    if not form.validate_on_submit():
        return _shipments_page(form, 400)
    try:
        shipment = shipments.create_shipment(
            from_location=service.get_location(form.from_location.data),
            to_location=service.get_location(form.to_location.data), by=current_user,
            note=form.note.data)
    except DomainError as refused:
        flash(refused.message, "error")
        return _shipments_page(form, refused.status)
    return redirect(url_for("custody.shipment", shipment_id=shipment.id))


def _shipment_page(record, *, bag_form=None, dispatch_form=None, logger_form=None,
                   status: int = 200):
    return render_template(
        "custody/shipment.html", shipment=record,
        bag_form=bag_form or ShipmentBagForm(prefix="bag", formdata=None),
        dispatch_form=dispatch_form or DispatchForm(prefix="dispatch", formdata=None),
        logger_form=logger_form or LoggerForm(prefix="logger", formdata=None),
    ), status


_FORM_ARGUMENT = {ShipmentBagForm: "bag_form", DispatchForm: "dispatch_form",
                  LoggerForm: "logger_form"}


def _shipment_action(shipment_id: int, form, act):
    """One form of the shipment page: back to the shipment when its action succeeds, the page
    again with the reason when it does not."""
    record = shipments.get_shipment(shipment_id)
    page = partial(_shipment_page, record, **{_FORM_ARGUMENT[type(form)]: form})
    if not form.validate_on_submit():
        return page(status=400)
    try:
        act(record)
    except DomainError as refused:
        flash(refused.message, "error")
        return page(status=refused.status)
    return redirect(url_for("custody.shipment", shipment_id=record.id))


@bp.get("/shipments/<int:shipment_id>")
@requires("custody.read")
def shipment(shipment_id: int):
    return _shipment_page(shipments.get_shipment(shipment_id))


@bp.post("/shipments/<int:shipment_id>/bags")
@requires("custody.record")
def shipment_add_bag(shipment_id: int):
    form = ShipmentBagForm(prefix="bag")
    return _shipment_action(shipment_id, form, lambda record: shipments.add_bag(
        record, service.bag_for_scan(form.bag.data), by=current_user))


@bp.post("/shipments/<int:shipment_id>/dispatch")
@requires("custody.record")
def shipment_dispatch(shipment_id: int):
    form = DispatchForm(prefix="dispatch")

    def dispatch(record) -> None:
        moved = shipments.dispatch(record, by=current_user,
                                   temperature_c=_temperature(form.temperature_c),
                                   condition=form.condition.data)
        flash(_("%(n)s bags handed off.", n=moved), "success")

    return _shipment_action(shipment_id, form, dispatch)


@bp.post("/shipments/<int:shipment_id>/logger")
@requires("custody.logger")
def shipment_logger(shipment_id: int):
    form = LoggerForm(prefix="logger")

    def attach(record) -> None:
        upload = form.file.data
        log = shipments.attach_temperature_log(
            record, filename=upload.filename or "logger.csv", content=upload.read(),
            by=current_user)
        flash(_("Logger file attached: %(m)s min out of range.", m=log.minutes_out_of_range),
              "success")

    return _shipment_action(shipment_id, form, attach)


def _excursion_page(record, form: DispositionForm, status: int = 200):
    return render_template("custody/excursion.html", excursion=record, form=form), status


@bp.get("/excursions/<int:excursion_id>")
@requires("custody.read")
def excursion(excursion_id: int):
    return _excursion_page(shipments.get_excursion(excursion_id), DispositionForm(formdata=None))


@bp.post("/excursions/<int:excursion_id>")
@requires("excursion.disposition")
def excursion_disposition(excursion_id: int):
    record = shipments.get_excursion(excursion_id)
    form = DispositionForm()
    if not form.validate_on_submit():
        return _excursion_page(record, form, 400)
    try:
        shipments.disposition_excursion(
            record, decision=form.decision.data, reason=form.reason.data,
            username=form.username.data, password=form.password.data, by=current_user)
    except DomainError as refused:
        flash(refused.message, "error")
        return _excursion_page(record, form, refused.status)
    flash(_("Excursion dispositioned."), "success")
    return redirect(url_for("custody.excursion", excursion_id=record.id))
