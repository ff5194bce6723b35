"""WSGI entry point: `flask --app app ...` and `gunicorn app:app`."""

from ucmsc_lims import create_app

app = create_app()
