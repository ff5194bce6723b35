"""The eligibility checklist (SPEC 4.4): a versioned protocol item, kept here as data.

A new protocol amendment adds a new `Checklist` with a new version string and makes it
`CURRENT`; each patient keeps the version they were enrolled under, so old answers stay
readable against the wording they were given for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Item:
    key: str
    text: object  # a lazy string
    # "inclusion": must be answered yes; "exclusion": must be answered no.
    kind: str


@dataclass(frozen=True)
class Checklist:
    version: str
    items: tuple[Item, ...]

    @property
    def inclusion(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.kind == "inclusion")

    @property
    def exclusion(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.kind == "exclusion")

    def failing(self, answers: Mapping[str, bool | None]) -> list[Item]:
        """Items not answered the way enrollment needs: inclusion yes, exclusion no.

        An unanswered item fails too: eligibility is confirmed item by item, never assumed.
        """
        failed = []
        for item in self.items:
            answer = answers.get(item.key)
            wanted = item.kind == "inclusion"
            if answer is None or bool(answer) != wanted:
                failed.append(item)
        return failed


# SPEC 4.4: the registered design of this trial.
V1 = Checklist(
    version="ELIG-1.0",
    items=(
        Item("liver_cirrhosis", _l("Liver cirrhosis"), "inclusion"),
        Item("pregnancy_test_negative",
             _l("Negative pregnancy test (women of child-bearing potential), or not applicable"),
             "inclusion"),
        Item("written_consent", _l("Written informed consent"), "inclusion"),
        Item("malignancy", _l("Hepatocellular carcinoma or other malignancy"), "exclusion"),
        Item("pregnancy", _l("Pregnancy"), "exclusion"),
        Item("sepsis", _l("Sepsis"), "exclusion"),
        Item("biliary_disease", _l("Significant extrahepatic biliary disease"), "exclusion"),
        Item("organ_failure", _l("Cardiac, renal or respiratory failure"), "exclusion"),
        Item("vein_thrombosis", _l("Active portal or hepatic vein thrombosis"), "exclusion"),
    ),
)

CHECKLISTS = {V1.version: V1}
CURRENT = V1

# SPEC 4.4, 4.5: anticoagulant contraindications recorded at enrollment. Any of them bars
# heparin from the patient's bags, whatever the arm.
CONTRAINDICATIONS = (
    ("heparin_allergy", _l("Heparin allergy")),
    ("heparin_induced_thrombocytopenia", _l("Heparin-induced thrombocytopenia (HIT)")),
)
HEPARIN_CONTRAINDICATIONS = frozenset({"heparin_allergy", "heparin_induced_thrombocytopenia"})
