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
    return request.accept_languages.best_match(languages) or languages[0]
