"""Trial forms: enrollment with its eligibility checklist, signatures, postponement, unblinding."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.freetext import LabelText
from ..followup.events import CAUSALITY_LABELS
from . import eligibility

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _EnrollmentBase(FlaskForm):
    subject_id = StringField(_l("Subject id"), validators=[DataRequired(), Length(max=10)],
                             render_kw={"autofocus": True, "placeholder": "01-023"})
    hospital_record_number = StringField(_l("Hospital record number"),
                                         validators=[DataRequired(), Length(max=40)])
    initials = StringField(_l("Initials"), validators=[DataRequired(), Length(max=4)])
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    # SPEC 4.6: the site prints on the wristband.
    site = StringField(_l("Site"), validators=[DataRequired(), Length(max=40), LabelText()],
                       default="01")
    weight_kg = FloatField(_l("Weight (kg)"), validators=[InputRequired(),
                                                          NumberRange(min=20, max=250)])
    stratum = SelectField(_l("Stratum"), validators=[InputRequired()], validate_choice=True)
    day0 = DateField(_l("Day 0 (planned date of dose 1)"), validators=[DataRequired()])
    contraindications = Checkboxes(_l("Anticoagulant contraindications"),
                                   choices=list(eligibility.CONTRAINDICATIONS))
    submit = SubmitField(_l("Enroll and randomize"))


def _with_checklist(checklist: eligibility.Checklist) -> type[FlaskForm]:
    """One yes/no question per checklist item, none answered beforehand (SPEC 4.4)."""
    fields = {
        f"item_{item.key}": RadioField(item.text, choices=YES_NO,
                                       validators=[InputRequired(_l("Answer yes or no."))])
        for item in checklist.items
    }
    return type("EnrollmentForm", (_EnrollmentBase,), fields)


EnrollmentForm = _with_checklist(eligibility.CURRENT)


def checklist_answers(form: FlaskForm, checklist: eligibility.Checklist) -> dict[str, bool | None]:
    answers: dict[str, bool | None] = {}
    for item in checklist.items:
        data = getattr(form, f"item_{item.key}").data
        answers[item.key] = None if data not in ("yes", "no") else data == "yes"
    return answers


class SignatureMixin:
    """SPEC 5: the signer re-enters user id and password at signing."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class ClearanceForm(SignatureMixin, FlaskForm):
    no_reaction_confirmed = BooleanField(
        _l("No unresolved reaction or serious adverse event since the last dose"))
    weight_kg = FloatField(_l("Today's weight (kg), if weighed"),
                           validators=[Optional(), NumberRange(min=20, max=250)])
    submit = SubmitField(_l("Sign clearance"))


class AssessmentForm(FlaskForm):
    """SPEC 4.4: the investigator's assessment of an adverse event before the next clearance."""

    causality = SelectField(_l("Causality"), validate_choice=True, choices=[
        ("", "—"), *[(key, label) for key, label in CAUSALITY_LABELS.items()]],
        validators=[DataRequired(_l("Choose the causality."))])
    reason = TextAreaField(_l("Assessment (outcome, action taken, why the patient may go on)"),
                           validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Record assessment"))


class PostponeForm(FlaskForm):
    true_reason = TextAreaField(_l("True reason (unblinded staff only)"),
                                validators=[DataRequired(), Length(max=2000)],
                                render_kw={"autofocus": True})
    new_date = DateField(_l("New date (inside the window; empty to decide later)"),
                         validators=[Optional()])
    submit = SubmitField(_l("Postpone: product not available"))


class RescheduleForm(FlaskForm):
    new_date = DateField(_l("New date"), validators=[DataRequired()])
    submit = SubmitField(_l("Reschedule"))


class MissedForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record as missed"))


class PatientStatusForm(FlaskForm):
    status = SelectField(_l("Record"), choices=[("withdrawn", _l("Withdrawal")),
                                                ("dead", _l("Death"))])
    on = DateField(_l("Date"), validators=[DataRequired()])
    reason = StringField(_l("Reason or cause"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record and cancel remaining doses"))


class UnblindingRequestForm(FlaskForm):
    reason = TextAreaField(_l("Medical reason for emergency unblinding"),
                           validators=[DataRequired(), Length(min=10, max=2000)],
                           render_kw={"autofocus": True})
    submit = SubmitField(_l("Request emergency unblinding"))


class UnblindingConfirmForm(SignatureMixin, FlaskForm):
    submit = SubmitField(_l("Sign: confirm emergency unblinding"))


class GenerateListForm(FlaskForm):
    strata = StringField(_l("Strata (comma-separated; empty for none)"),
                         validators=[Length(max=400)], default="CPA, CPB, CPC")
    per_stratum = IntegerField(_l("Randomization numbers per stratum"),
                               validators=[InputRequired(), NumberRange(min=2, max=5000)],
                               default=100)
    block_sizes = StringField(_l("Block sizes"), validators=[DataRequired(), Length(max=40)],
                              default="2, 4, 6")
    submit = SubmitField(_l("Generate from the secret seed"))


class ImportListForm(FlaskForm):
    file = FileField(_l("Statistician's CSV"), validators=[FileRequired()])
    submit = SubmitField(_l("Import list"))
