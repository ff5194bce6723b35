"""Language choice (SPEC 8): the user's own language, else the browser's, else English."""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask_login import current_user


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    signed_in = current_user and getattr(current_user, "is_authenticated", False)
    if signed_in and current_user.language in languages:
        return current_user.language
    if not has_request_context():  # services run from the CLI, the demo seed and tests
        return languages[0]
    return _browser_language(languages) or languages[0]


def _browser_language(languages: list[str]) -> str | None:
    """The browser's most wanted language we ship, matched on the primary subtag when no tag
    matches exactly: browsers in China send `zh-CN`, which must pick `zh_Hans`."""
    ours = {language: language.replace("_", "-").lower() for language in languages}
    for tag, _quality in request.accept_languages:  # most wanted first
        wanted = tag.replace("_", "-").lower()
        for language, normal in ours.items():
            if normal == wanted:
                return language
        for language, normal in ours.items():
            if normal.split("-")[0] == wanted.split("-")[0]:
                return language
    return None
