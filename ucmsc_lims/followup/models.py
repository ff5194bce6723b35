"""Follow-up records (SPEC 4.10): visits, their lab results, clinical events, the database lock.

Planned visits are not stored: they are computed from the patient's day 0 with the protocol
settings in force on that day. A `Visit` row is written when a visit is recorded (or documented
as missed). Nothing here is deleted: a wrong lab result or event is voided with a reason, and a
corrected one takes its place.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Base, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..bedside.models import Infusion
    from ..trial.models import Patient

VISIT_STATUSES = ("completed", "missed")
ASCITES = ("none", "mild", "moderate_severe")
EVENT_KINDS = (
    "variceal_bleeding", "infection", "hepatocellular_carcinoma", "transplant",
    "adverse_event", "death",
)
# The investigator's attribution of an adverse event to the study infusion (the NCI scale). The
# same words for both arms: the investigator is blinded (SPEC 2).
CAUSALITIES = ("unrelated", "unlikely", "possible", "probable", "definite")


class Visit(Base):
    """One follow-up visit of one patient at one protocol week."""

    __tablename__ = "followup_visit"
    __table_args__ = (
        sa.UniqueConstraint("patient_id", "visit_week"),
        sa.CheckConstraint("status IN ('completed', 'missed')", name="status"),
        sa.CheckConstraint(
            "ascites IS NULL OR ascites IN ('none', 'mild', 'moderate_severe')", name="ascites"
        ),
        sa.CheckConstraint(
            "encephalopathy_grade IS NULL OR encephalopathy_grade BETWEEN 0 AND 4",
            name="encephalopathy_grade",
        ),
        sa.CheckConstraint(
            "status = 'missed' OR visit_date IS NOT NULL", name="completed_has_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    visit_week: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(12), default="completed")
    visit_date: Mapped[date | None] = mapped_column(index=True)
    # Child-Pugh's clinical findings (SPEC 4.10), assessed at the visit.
    ascites: Mapped[str | None] = mapped_column(sa.String(20))
    # West Haven grade 0-4; Child-Pugh scores 0 / 1-2 / 3-4.
    encephalopathy_grade: Mapped[int | None]
    # MELD sets creatinine to 4.0 after dialysis twice in the past week (OPTN policy 9.1).
    dialysis: Mapped[bool] = mapped_column(default=False)
    # The laboratory's normal PT, so Child-Pugh can use the PT when no INR was measured.
    pt_control_s: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    missed_reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship(lazy="joined")
    labs: Mapped[list[LabResult]] = relationship(
        back_populates="visit", order_by="LabResult.id", lazy="selectin"
    )

    @property
    def current_labs(self) -> list[LabResult]:
        return [lab for lab in self.labs if lab.voided_at is None]


class LabResult(Base):
    """One analyte of one visit, kept as written and in the analyte's standard unit."""

    __tablename__ = "lab_result"
    __table_args__ = (
        # One current result per analyte per visit; voided ones stay beside it.
        sa.Index(
            "uq_lab_result_current", "visit_id", "analyte", unique=True,
            postgresql_where=sa.text("voided_at IS NULL"),
            sqlite_where=sa.text("voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("followup_visit.id"), index=True)
    analyte: Mapped[str] = mapped_column(sa.String(10))  # CDISC LBTESTCD
    # The decimal as typed: kept as text so 20.50 never becomes 20.499999.
    value_text: Mapped[str] = mapped_column(sa.String(24))
    unit: Mapped[str] = mapped_column(sa.String(16))
    standard_value: Mapped[float]
    standard_unit: Mapped[str] = mapped_column(sa.String(16))
    flag: Mapped[str | None] = mapped_column(sa.String(1))  # "L", "H" or none
    entered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(sa.Text)

    visit: Mapped[Visit] = relationship(back_populates="labs")

    @property
    def value(self) -> Decimal:
        return Decimal(self.value_text)


class ClinicalEvent(Base):
    """A complication, an adverse event or the death of a patient (SPEC 4.10).

    An adverse event seen at an infusion is this same record with its `infusion_id`: the
    nurse's entry at the bedside is the patient's adverse event, read by follow-up, the
    export, the trace and the investigator's clearance of the next dose (SPEC 4.4, 4.8).
    """

    __tablename__ = "clinical_event"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('variceal_bleeding', 'infection', 'hepatocellular_carcinoma', "
            "'transplant', 'adverse_event', 'death')",
            name="kind",
        ),
        sa.CheckConstraint("grade IS NULL OR grade BETWEEN 1 AND 5", name="grade"),
        sa.CheckConstraint(
            "causality IS NULL OR causality IN "
            "('unrelated', 'unlikely', 'possible', 'probable', 'definite')",
            name="causality",
        ),
        # An assessment is whole: who, when, the causality and the reason, or none of them.
        sa.CheckConstraint(
            "(assessed_at IS NULL AND assessed_by_id IS NULL AND causality IS NULL "
            "AND assessment IS NULL) OR (assessed_at IS NOT NULL AND assessed_by_id IS NOT NULL "
            "AND causality IS NOT NULL AND assessment IS NOT NULL)",
            name="assessment_whole",
        ),
        # One death per patient.
        sa.Index(
            "uq_clinical_event_death", "patient_id", unique=True,
            postgresql_where=sa.text("kind = 'death' AND voided_at IS NULL"),
            sqlite_where=sa.text("kind = 'death' AND voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    onset_date: Mapped[date]
    # The time of onset when it is known (an infusion reaction), in UTC.
    onset_at: Mapped[datetime | None]
    # Adverse events: the CTCAE term and grade, serious or not.
    term: Mapped[str | None] = mapped_column(sa.String(200))
    grade: Mapped[int | None]
    serious: Mapped[bool] = mapped_column(default=False)
    # The infusion an adverse event was seen at or followed (migration 0016 adds the key).
    infusion_id: Mapped[int | None] = mapped_column(sa.ForeignKey("infusion.id"), index=True)
    # Free text; for a death, the cause of death.
    description: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(sa.Text)
    # SPEC 4.4: the investigator's assessment; a serious adverse event blocks the clearance of
    # the next dose until it is assessed.
    assessed_at: Mapped[datetime | None]
    assessed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    causality: Mapped[str | None] = mapped_column(sa.String(12))
    assessment: Mapped[str | None] = mapped_column(sa.Text)

    patient: Mapped[Patient] = relationship(lazy="joined")
    infusion: Mapped[Infusion | None] = relationship(foreign_keys=[infusion_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id])

    @property
    def is_adverse_event(self) -> bool:
        return self.kind == "adverse_event"

    @property
    def awaits_assessment(self) -> bool:
        """A serious adverse event, not void, that the investigator has not yet assessed."""
        return (self.is_adverse_event and self.serious and self.voided_at is None
                and self.assessed_at is None)


class DatabaseLock(Base):
    """The follow-up database lock, signed (meaning `database_lock`); after it nothing changes."""

    __tablename__ = "followup_database_lock"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(sa.ForeignKey("signature.id"), unique=True)
    locked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    locked_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(sa.Text)
