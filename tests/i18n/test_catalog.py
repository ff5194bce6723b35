"""SPEC 8: the Simplified Chinese catalog is complete, keeps every placeholder and the contract
words, and holds every message the sources ask for."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

from babel.messages.pofile import read_po

from ucmsc_lims import PROJECT_ROOT

from .conftest import read_catalog

# A Python %-format conversion, named or not, and the escaped percent sign.
PLACEHOLDER = re.compile(
    r"%(?:\(\w+\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrs%]")
# SPEC 7: words scanner workflows and tests read in every language.
CONTRACT_WORDS = re.compile(r"\b(?:NO-GO|GO|BLINDED)\b")


def messages():
    return [m for m in read_catalog() if m.id]


def pairs(message) -> list[tuple[str, str]]:
    """(source, translation) pairs; a plural's Chinese form answers to its plural source."""
    if isinstance(message.id, tuple):
        return [(message.id[-1], form) for form in message.string]
    return [(message.id, message.string)]


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def test_every_message_has_a_chinese_translation():
    untranslated = [m.id for m in messages()
                    if not all(text and text.strip() for _, text in pairs(m))]
    fuzzy = [m.id for m in messages() if m.fuzzy]
    assert untranslated == [], f"{len(untranslated)} messages without a translation"
    # `pybabel compile` leaves fuzzy entries out: the page would show English.
    assert fuzzy == [], f"{len(fuzzy)} fuzzy translations to review"


def test_each_translation_keeps_exactly_the_placeholders_of_its_message():
    wrong = [(source, text) for m in messages() for source, text in pairs(m)
             if placeholders(source) != placeholders(text)]
    assert wrong == []


def test_go_no_go_and_blinded_read_the_same_in_chinese():
    lost = [(source, text) for m in messages() for source, text in pairs(m)
            if Counter(CONTRACT_WORDS.findall(source)) != Counter(CONTRACT_WORDS.findall(text))]
    assert lost == []


def test_the_placeholder_check_catches_a_dropped_or_renamed_placeholder():
    assert placeholders("Dose %(n)s of %(id)s") != placeholders("第 %(n)s 剂次")
    assert placeholders("Welcome, %(name)s") != placeholders("欢迎，%(user)s")
    assert placeholders("差 %(c)s %%") == placeholders("differs by %(c)s %%")


def test_the_catalog_holds_every_message_the_sources_ask_for(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(template), "."],
        cwd=PROJECT_ROOT, check=True, capture_output=True,
    )
    with template.open("rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    have = {m.id for m in messages()}
    missing = sorted(wanted - have, key=str)
    assert missing == [], (
        f"{len(missing)} messages are not in the Chinese catalog: run `make translations` "
        f"and translate them in translations/zh_Hans/LC_MESSAGES/messages.po: {missing[:20]}")
