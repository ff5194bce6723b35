"""`flask lots expire`: move released lots past their expiry to `expired` (SPEC 4.2).

Run from a scheduler (e.g. every few minutes); pages never write when they are read. Until it
runs, every check that uses a lot compares its expiry with the clock itself.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db

lots_cli = AppGroup("lots", help="Cell bank lots and product batches.")


@lots_cli.command("expire")
def expire() -> None:
    from . import service

    expired = service.expire_due_lots()
    db.session.commit()
    click.echo(f"{len(expired)} lots expired")


def register(app: Flask) -> None:
    app.cli.add_command(lots_cli)
