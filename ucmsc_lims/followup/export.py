"""The statistician's export (SPEC 4.10): CSV files shaped like CDISC SDTM domains, zipped.

Every file has one row per record and the columns below, in this order. Dates are ISO 8601
(`--DTC`), in the site's time zone where a time is given. Study days (`--DY`) count as SDTM
does: day 0 of the protocol (dose 1) is study day 1, the day before it is day -1. A text value
that a spreadsheet would run as a formula (it begins with = + - @, a tab or a carriage return and
is not a plain number) is written with a leading single quote; numbers are written bare.

Blinding (SPEC 2, 5): the arm columns (ARMCD, ARM, ACTARMCD, ACTARM) appear only in an export
made by an unblinded role (the pharmacist) after the follow-up database lock was signed (meaning
"database_lock"). Every other export has no arm column at all, and its EXTRT names the blinded
study treatment only. The same dictionary is written into the zip as `dictionary.md`.

Column dictionary
-----------------
DM.csv — demographics, one row per patient
  STUDYID   study identifier
  DOMAIN    "DM"
  USUBJID   unique subject id: STUDYID-subject id
  SUBJID    subject id at the site ("01-023")
  SITEID    site
  RFSTDTC   day 0: the planned date of dose 1 (the reference start)
  RFXSTDTC  date and time of the first infused dose; empty when none was infused
  AGE       age in whole years on day 0 (no date of birth is exported)
  AGEU      "YEARS"
  DTHFL     "Y" when the patient died, else empty
  DTHDTC    date of death
  ARMCD     planned arm code "A" or "B" (unblinded export after lock only)
  ARM       planned arm: "UC-MSC" or "SALINE PLACEBO" (unblinded export after lock only)
  ACTARMCD  actual arm code; "NOTTRT" when no dose was infused (unblinded export after lock only)
  ACTARM    actual arm; "Not Treated" when no dose was infused (unblinded export after lock only)
EX.csv — exposure, one row per infused dose
  STUDYID, DOMAIN ("EX"), USUBJID
  EXSEQ     sequence number within the patient
  EXTRT     "UC-MSC OR SALINE PLACEBO (BLINDED)"; the arm's treatment in an unblinded export
  EXDOSE    the bag volume in force that day (the same for both arms, SPEC 1)
  EXDOSU    "mL"
  EXDOSFRM  "SUSPENSION"
  EXROUTE   "INTRAVENOUS"
  VISITNUM  dose number
  VISIT     "DOSE 1", "DOSE 2", ...
  EXSTDTC   when the dose was recorded as infused (site time); the bedside domain will add the
            infusion's start and end
  EXSTDY    study day of EXSTDTC
LB.csv — laboratory results, one row per current result of a completed visit
  STUDYID, DOMAIN ("LB"), USUBJID
  LBSEQ     sequence number within the patient
  LBTESTCD  ALT, BILI, PT, INR, ALB, PREALB, CREAT, SODIUM, WBC, HGB, PLAT
  LBTEST    the test's name
  LBORRES   the result as written
  LBORRESU  the unit as written (empty for INR)
  LBORNRLO  reference range low, in the unit as written
  LBORNRHI  reference range high, in the unit as written
  LBSTRESN  the result in the standard unit (numeric)
  LBSTRESU  the standard unit: U/L, mg/dL (BILI, CREAT), s, g/dL (ALB, HGB), mg/L (PREALB),
            mmol/L, 10^9/L; empty for INR
  LBSTNRLO  reference range low, standard unit
  LBSTNRHI  reference range high, standard unit
  LBNRIND   "LOW", "HIGH" or "NORMAL" against the adult reference range
  VISITNUM  protocol week of the visit
  VISIT     "WEEK 12", "WEEK 24", ...
  LBDTC     date of the visit
  LBDY      study day of LBDTC
AE.csv — adverse events, one row per event not voided
  STUDYID, DOMAIN ("AE"), USUBJID
  AESEQ     sequence number within the patient
  AETERM    the CTCAE term as recorded
  AEDECOD   the CTCAE term, upper case
  AETOXGR   CTCAE grade 1-5
  AESER     "Y" serious, "N" not serious
  AESTDTC   onset date
  AESTDY    study day of AESTDTC
  AELNKID   the infusion the event followed ("INF-" + infusion id), empty when none
  AEREL     the investigator's causality: UNRELATED, UNLIKELY, POSSIBLE, PROBABLE or
            DEFINITE; empty until assessed
CE.csv — clinical events (complications), one row per event not voided
  STUDYID, DOMAIN ("CE"), USUBJID
  CESEQ     sequence number within the patient
  CETERM    the complication as recorded (with its description when one was given)
  CEDECOD   VARICEAL BLEEDING, INFECTION, HEPATOCELLULAR CARCINOMA, LIVER TRANSPLANT
  CESTDTC   onset date
  CESTDY    study day of CESTDTC
XS.csv — visit findings and scores (custom domain), one row per finding of a completed visit
  STUDYID, DOMAIN ("XS"), USUBJID
  XSSEQ     sequence number within the patient
  XSTESTCD  ASCITES (none, mild, moderate_severe), HEGRADE (West Haven 0-4), DIALYSIS (Y/N),
            MELD, MELDNA, CPSCORE (Child-Pugh score 5-15), CPCLASS (A, B, C)
  XSTEST    the finding's name
  XSORRES   the finding or score; scores are computed, never typed in
  VISITNUM  protocol week; VISIT "WEEK n"
  XSDTC     date of the visit
  XSDY      study day of XSDTC
DS.csv — disposition and survival, several rows per patient
  STUDYID, DOMAIN ("DS"), USUBJID
  DSSEQ     sequence number within the patient
  DSTERM    as recorded: "RANDOMIZED"; the cause of death; the reason for withdrawal;
            "ALIVE AT LAST CONTACT"
  DSDECOD   RANDOMIZED, DEATH, WITHDRAWAL BY SUBJECT, ALIVE AT LAST CONTACT (the survival
            censoring date: the latest of day 0, a visit or a recorded event)
  DSCAT     "PROTOCOL MILESTONE" (randomized), "DISPOSITION EVENT" (the others)
  DSSTDTC   date of the event
  DSSTDY    study day of DSSTDTC
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from ..auth.models import User
from ..core import audit, spreadsheet
from ..core.clock import local, site_today
from ..core.errors import NotPermitted
from ..core.permissions import SEE_ARM
from ..extensions import db
from ..protocol import service as protocol
from ..trial import service as trial
from ..trial.models import Dose, Patient
from . import service, units
from .models import ClinicalEvent, LabResult, Visit

ARM_NAMES = {"A": "UC-MSC", "B": "SALINE PLACEBO"}
BLINDED_TREATMENT = "UC-MSC OR SALINE PLACEBO (BLINDED)"
ARM_COLUMNS = ("ARMCD", "ARM", "ACTARMCD", "ACTARM")
COMMON = ("STUDYID", "DOMAIN", "USUBJID")

COLUMNS: dict[str, tuple[str, ...]] = {
    "DM": (*COMMON, "SUBJID", "SITEID", "RFSTDTC", "RFXSTDTC", "AGE", "AGEU", "DTHFL", "DTHDTC"),
    "EX": (*COMMON, "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM", "EXROUTE", "VISITNUM",
           "VISIT", "EXSTDTC", "EXSTDY"),
    "LB": (*COMMON, "LBSEQ", "LBTESTCD", "LBTEST", "LBORRES", "LBORRESU", "LBORNRLO",
           "LBORNRHI", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBNRIND", "VISITNUM",
           "VISIT", "LBDTC", "LBDY"),
    "AE": (*COMMON, "AESEQ", "AETERM", "AEDECOD", "AETOXGR", "AESER", "AESTDTC", "AESTDY",
           "AELNKID", "AEREL"),
    "CE": (*COMMON, "CESEQ", "CETERM", "CEDECOD", "CESTDTC", "CESTDY"),
    "XS": (*COMMON, "XSSEQ", "XSTESTCD", "XSTEST", "XSORRES", "VISITNUM", "VISIT", "XSDTC",
           "XSDY"),
    "DS": (*COMMON, "DSSEQ", "DSTERM", "DSDECOD", "DSCAT", "DSSTDTC", "DSSTDY"),
}

CE_DECODES = {
    "variceal_bleeding": "VARICEAL BLEEDING",
    "infection": "INFECTION",
    "hepatocellular_carcinoma": "HEPATOCELLULAR CARCINOMA",
    "transplant": "LIVER TRANSPLANT",
}
NRIND = {"L": "LOW", "H": "HIGH", None: "NORMAL"}


def columns(domain: str, *, with_arm: bool) -> tuple[str, ...]:
    """The columns of a domain's file; the arm columns only in an unblinded export."""
    if domain == "DM" and with_arm:
        return COLUMNS["DM"] + ARM_COLUMNS
    return COLUMNS[domain]


def dictionary_text() -> str:
    """The column dictionary of this module's docstring, as the zip's `dictionary.md`."""
    text = __doc__ or ""
    head, _, body = text.partition("Column dictionary\n-----------------\n")
    return f"# Column dictionary\n\n{head.strip()}\n\n```\n{body.rstrip()}\n```\n"


def may_see_arm(by: User) -> bool:
    """SPEC 4.10: the arm only for an account holding an unblinded role (the pharmacist) that
    sees arms, and only after the signed lock; a blinded account never, whatever it holds."""
    return (by.is_unblinded_role and by.can(SEE_ARM)
            and service.current_lock() is not None)


def study_day(day: date | None, day0: date) -> int | None:
    """SDTM study day: day 0 of the protocol is day 1; there is no day 0."""
    if day is None:
        return None
    delta = (day - day0).days
    return delta + 1 if delta >= 0 else delta


def _number(value: float) -> str:
    return f"{value:.10g}"


@dataclass
class _Sequence:
    counts: dict[int, int]

    def next(self, patient_id: int) -> int:
        self.counts[patient_id] = self.counts.get(patient_id, 0) + 1
        return self.counts[patient_id]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _local_iso(moment: datetime | None) -> str:
    return "" if moment is None else local(moment).isoformat(timespec="minutes")


class _Study:
    """Everything the export reads, loaded once: a bounded number of queries."""

    def __init__(self, with_arm: bool):
        self.study_id = current_app.config.get("STUDY_ID", "UCMSC-LC")
        self.patients = service.followed_patients()
        self.by_id = {p.id: p for p in self.patients}
        ids = list(self.by_id)
        self.infused: dict[int, list[Dose]] = {}
        for dose in db.session.scalars(
            sa.select(Dose).where(Dose.patient_id.in_(ids), Dose.state == "infused")
            .order_by(Dose.patient_id, Dose.dose_number)
        ):
            self.infused.setdefault(dose.patient_id, []).append(dose)
        self.visits = list(db.session.scalars(
            sa.select(Visit).where(Visit.patient_id.in_(ids), Visit.status == "completed")
            .order_by(Visit.patient_id, Visit.visit_week)
        ))
        self.events = list(db.session.scalars(
            sa.select(ClinicalEvent).where(
                ClinicalEvent.patient_id.in_(ids), ClinicalEvent.voided_at.is_(None)
            ).order_by(ClinicalEvent.patient_id, ClinicalEvent.onset_date, ClinicalEvent.id)
        ))
        self.arms = trial.arms_of(self.patients) if with_arm else {}

    def usubjid(self, patient: Patient) -> str:
        return f"{self.study_id}-{patient.subject_id}"

    def common(self, patient: Patient, domain: str) -> dict[str, object]:
        return {"STUDYID": self.study_id, "DOMAIN": domain, "USUBJID": self.usubjid(patient)}

    def death(self, patient: Patient) -> ClinicalEvent | None:
        return next((e for e in self.events
                     if e.patient_id == patient.id and e.kind == "death"), None)


def _dm(study: _Study, with_arm: bool) -> Iterable[dict]:
    for patient in study.patients:
        death = study.death(patient)
        doses = study.infused.get(patient.id, [])
        row = {
            **study.common(patient, "DM"), "SUBJID": patient.subject_id, "SITEID": patient.site,
            "RFSTDTC": patient.day0.isoformat(),
            "RFXSTDTC": _local_iso(doses[0].state_changed_at) if doses else "",
            "AGE": _age(patient.date_of_birth, patient.day0), "AGEU": "YEARS",
            "DTHFL": "Y" if death else "", "DTHDTC": death.onset_date.isoformat() if death else "",
        }
        if with_arm:
            arm = study.arms.get(patient.id, "")
            row.update({"ARMCD": arm, "ARM": ARM_NAMES.get(arm, "")})
            row.update({"ACTARMCD": arm, "ACTARM": ARM_NAMES.get(arm, "")} if doses
                       else {"ACTARMCD": "NOTTRT", "ACTARM": "Not Treated"})
        yield row


def _ex(study: _Study, with_arm: bool) -> Iterable[dict]:
    seq = _Sequence({})
    for patient in study.patients:
        for dose in study.infused.get(patient.id, []):
            given = local(dose.state_changed_at)
            treatment = ARM_NAMES.get(study.arms.get(patient.id, ""), "") if with_arm else ""
            yield {
                **study.common(patient, "EX"), "EXSEQ": seq.next(patient.id),
                "EXTRT": treatment or BLINDED_TREATMENT,
                "EXDOSE": protocol.value("bag_volume_ml", given.date()), "EXDOSU": "mL",
                "EXDOSFRM": "SUSPENSION", "EXROUTE": "INTRAVENOUS",
                "VISITNUM": dose.dose_number, "VISIT": f"DOSE {dose.dose_number}",
                "EXSTDTC": _local_iso(dose.state_changed_at),
                "EXSTDY": study_day(given.date(), patient.day0),
            }


def _lb(study: _Study) -> Iterable[dict]:
    seq = _Sequence({})
    for visit in study.visits:
        patient = study.by_id[visit.patient_id]
        for lab in sorted(visit.current_labs, key=lambda r: list(units.ANALYTES).index(r.analyte)):
            yield _lb_row(study, patient, visit, lab, seq.next(patient.id))


def _lb_row(study: _Study, patient: Patient, visit: Visit, lab: LabResult, seq: int) -> dict:
    found = units.analyte(lab.analyte)
    factor = found.units[lab.unit]
    low, high = found.reference
    return {
        **study.common(patient, "LB"), "LBSEQ": seq, "LBTESTCD": lab.analyte,
        "LBTEST": found.name, "LBORRES": lab.value_text, "LBORRESU": lab.unit,
        "LBORNRLO": _number(float(low / factor)), "LBORNRHI": _number(float(high / factor)),
        "LBSTRESN": _number(lab.standard_value), "LBSTRESU": lab.standard_unit,
        "LBSTNRLO": _number(float(low)), "LBSTNRHI": _number(float(high)),
        "LBNRIND": NRIND[lab.flag], "VISITNUM": visit.visit_week,
        "VISIT": f"WEEK {visit.visit_week}", "LBDTC": visit.visit_date.isoformat(),
        "LBDY": study_day(visit.visit_date, patient.day0),
    }


def _ae(study: _Study) -> Iterable[dict]:
    seq = _Sequence({})
    for event in study.events:
        if event.kind != "adverse_event":
            continue
        patient = study.by_id[event.patient_id]
        yield {
            **study.common(patient, "AE"), "AESEQ": seq.next(patient.id),
            "AETERM": event.term or "", "AEDECOD": (event.term or "").upper(),
            "AETOXGR": event.grade or "", "AESER": "Y" if event.serious else "N",
            "AESTDTC": event.onset_date.isoformat(),
            "AESTDY": study_day(event.onset_date, patient.day0),
            "AELNKID": f"INF-{event.infusion_id}" if event.infusion_id is not None else "",
            "AEREL": (event.causality or "").upper(),
        }


def _ce(study: _Study) -> Iterable[dict]:
    seq = _Sequence({})
    for event in study.events:
        if event.kind not in CE_DECODES:
            continue
        patient = study.by_id[event.patient_id]
        term = service.EVENT_LABELS[event.kind]
        yield {
            **study.common(patient, "CE"), "CESEQ": seq.next(patient.id),
            "CETERM": f"{term}: {event.description}" if event.description else term,
            "CEDECOD": CE_DECODES[event.kind], "CESTDTC": event.onset_date.isoformat(),
            "CESTDY": study_day(event.onset_date, patient.day0),
        }


def _xs(study: _Study) -> Iterable[dict]:
    seq = _Sequence({})
    for visit in study.visits:
        patient = study.by_id[visit.patient_id]
        scored = service.scores_of(visit)
        findings = (
            ("ASCITES", "Ascites", visit.ascites),
            ("HEGRADE", "Hepatic encephalopathy grade", visit.encephalopathy_grade),
            ("DIALYSIS", "Dialysis in the past week", "Y" if visit.dialysis else "N"),
            ("MELD", "MELD", scored.meld),
            ("MELDNA", "MELD-Na", scored.meld_na),
            ("CPSCORE", "Child-Pugh score", scored.child_pugh_score),
            ("CPCLASS", "Child-Pugh class", scored.child_pugh_class),
        )
        for code, name, value in findings:
            if value is None:
                continue
            yield {
                **study.common(patient, "XS"), "XSSEQ": seq.next(patient.id),
                "XSTESTCD": code, "XSTEST": name, "XSORRES": value,
                "VISITNUM": visit.visit_week, "VISIT": f"WEEK {visit.visit_week}",
                "XSDTC": visit.visit_date.isoformat(),
                "XSDY": study_day(visit.visit_date, patient.day0),
            }


def _ds(study: _Study) -> Iterable[dict]:
    last_contact: dict[int, date] = {p.id: p.day0 for p in study.patients}
    for visit in study.visits:
        last_contact[visit.patient_id] = max(last_contact[visit.patient_id], visit.visit_date)
    for event in study.events:
        if event.kind != "death":
            last_contact[event.patient_id] = max(last_contact[event.patient_id],
                                                 event.onset_date)
    for patient in study.patients:
        rows = [("RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE",
                 local(patient.enrolled_at).date())]
        death = study.death(patient)
        if death is not None:
            rows.append((death.description or "", "DEATH", "DISPOSITION EVENT",
                         death.onset_date))
        else:
            if patient.status == "withdrawn" and patient.status_changed_on is not None:
                rows.append((patient.status_reason or "", "WITHDRAWAL BY SUBJECT",
                             "DISPOSITION EVENT", patient.status_changed_on))
            rows.append(("ALIVE AT LAST CONTACT", "ALIVE AT LAST CONTACT",
                         "DISPOSITION EVENT", last_contact[patient.id]))
        for seq, (term, decod, category, day) in enumerate(rows, start=1):
            yield {
                **study.common(patient, "DS"), "DSSEQ": seq, "DSTERM": term,
                "DSDECOD": decod, "DSCAT": category, "DSSTDTC": day.isoformat(),
                "DSSTDY": study_day(day, patient.day0),
            }


def _csv(header: tuple[str, ...], rows: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = spreadsheet.dict_writer(out, header, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes
    with_arm: bool
    files: tuple[str, ...]


def export_study(*, by: User) -> Export:
    """The zipped domains and their dictionary; audited. Arm columns per `may_see_arm`."""
    if not by.can("followup.export"):
        raise NotPermitted("Your role does not export follow-up data.")
    with_arm = may_see_arm(by)
    study = _Study(with_arm)
    lock = service.current_lock()
    files = {
        "DM": _csv(columns("DM", with_arm=with_arm), _dm(study, with_arm)),
        "EX": _csv(columns("EX", with_arm=with_arm), _ex(study, with_arm)),
        "LB": _csv(columns("LB", with_arm=with_arm), _lb(study)),
        "AE": _csv(columns("AE", with_arm=with_arm), _ae(study)),
        "CE": _csv(columns("CE", with_arm=with_arm), _ce(study)),
        "XS": _csv(columns("XS", with_arm=with_arm), _xs(study)),
        "DS": _csv(columns("DS", with_arm=with_arm), _ds(study)),
    }
    status = (f"Database locked on {lock.locked_at:%Y-%m-%d %H:%M} UTC." if lock
              else "Database NOT locked: the data may still change.")
    blinding = ("Unblinded export: DM carries ARMCD, ARM, ACTARMCD, ACTARM." if with_arm
                else "Blinded export: no arm columns.")
    readme = (f"Study {study.study_id}, exported {site_today().isoformat()} by {by.username}.\n"
              f"{status}\n{blinding}\n\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("dictionary.md", readme + dictionary_text())
        for domain, text in files.items():
            archive.writestr(f"{domain}.csv", text)
    names = ("dictionary.md", *(f"{d}.csv" for d in files))
    kind = "unblinded" if with_arm else "blinded"
    filename = f"{study.study_id}-sdtm-{kind}-{site_today():%Y%m%d}.zip"
    audit.record(db.session, "followup.exported", ("followup_export", filename), actor=by,
                 new={"with_arm": with_arm, "locked": lock is not None, "files": list(names),
                      "patients": len(study.patients)})
    return Export(filename, buffer.getvalue(), with_arm, names)
