"""Command-line tools: users, the audit chain, the demo study, backups (SPEC 8)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db

audit_cli = AppGroup("audit", help="Verify and seal the audit trail.")
users_cli = AppGroup("users", help="Manage user accounts.")


@audit_cli.command("verify")
@click.option("--quick", is_flag=True,
              help="Only the entries since the last signed checkpoint (about a second).")
def audit_verify(quick: bool) -> None:
    """Recompute the chain against its signed checkpoints; exit 1 naming the first bad
    entry."""
    from .core import checkpoints
    from .core.sqlite import read_only

    # A read-only transaction: a long verification must not hold SQLite's write lock.
    with read_only():
        result = checkpoints.verify_trail(
            db.session, checkpoints.Anchor.of(current_app), full=not quick,
            max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
    click.echo(f"{'OK' if result.ok else 'BROKEN'}: {result.message} "
               f"({result.entries} entries, {result.unsealed} unsealed"
               f"{', since the last checkpoint' if quick else ''})")
    if not result.ok:
        click.echo(f"first bad entry: {result.first_bad_seq}", err=True)
        sys.exit(1)


@audit_cli.command("seal")
def audit_seal() -> None:
    """Seal committed entries now (the served app does this in the background)."""
    from .core.sealer import seal_pending

    click.echo(f"sealed {seal_pending(current_app._get_current_object())} entries")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Seal, then sign a checkpoint of the chain's head now (the served app signs one every
    AUDIT_CHECKPOINT_SECONDS)."""
    from .core.sealer import seal_pending, sign_checkpoint

    app = current_app._get_current_object()
    seal_pending(app)
    signed = sign_checkpoint(app, force=True)
    click.echo("nothing new to sign" if signed is None
               else f"signed a checkpoint at chain position {signed}")


@click.command("grant-app-role")
@click.argument("role")
@click.option("--password", envvar="APP_ROLE_PASSWORD", default=None,
              help="Set the role's password (or APP_ROLE_PASSWORD).")
def grant_app_role_command(role: str, password: str | None) -> None:
    """PostgreSQL: create ROLE if missing and grant it what the served app may do, and no
    more (core.privileges). Run as the tables' owner after every `flask db upgrade`."""
    from .core.privileges import grant_app_role

    try:
        with db.engine.begin() as connection:
            count = grant_app_role(connection, role, password=password)
    except ValueError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"{role}: granted on {count} tables; it owns none, so it cannot delete, "
               "truncate or alter them, nor lift their triggers")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", "roles", multiple=True, required=True)
@click.password_option()
def users_create(username: str, full_name: str, roles: tuple[str, ...], password: str) -> None:
    """Create an account (the first admin of a new site starts here)."""
    from .auth import service
    from .core.errors import DomainError

    try:
        service.create_user(username=username, full_name=full_name, password=password,
                            roles=set(roles), by=None)
    except DomainError as refused:
        raise click.ClickException(refused.message) from None
    db.session.commit()
    click.echo(f"created {username}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Seed only when the database has no users.")
def seed_demo(if_empty: bool) -> None:
    """Seed the demo study; on a demo database bring 'today' up to date."""
    from .demo.seed import DemoRefused, refresh_today, seed

    try:
        seeded = seed(if_empty=if_empty)
        refresh_today()
    except DemoRefused as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    password = current_app.config["DEMO_PASSWORD"]
    if seeded:
        click.echo("Demo study seeded.")
    click.echo(f"Demo users: technician qa pharmacist nurse nurse2 investigator inspector admin"
               f" — password: {password}")


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Online backup of the SQLite database (PostgreSQL: use pg_dump, see README)."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise click.ClickException("On PostgreSQL use pg_dump (see README).")
    import sqlite3

    source = sqlite3.connect(engine.url.database)
    with sqlite3.connect(target) as dest:
        source.backup(dest)
    source.close()
    click.echo(f"backed up to {target}")


@click.command("db-check")
def db_check() -> None:
    """Exit 0 when the database answers."""
    db.session.execute(sa.text("SELECT 1"))
    click.echo("database ok")


def register(app: Flask) -> None:
    for command in (audit_cli, users_cli, seed_demo, backup, db_check, grant_app_role_command):
        app.cli.add_command(command)
