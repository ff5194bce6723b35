"""`flask trace IDENTIFIER`: the trace as a table on the terminal (SPEC 8)."""

from __future__ import annotations

import click
from flask import Flask

from ..core.errors import DomainError


def register(app: Flask) -> None:
    @app.cli.command("trace")
    @click.argument("identifier")
    @click.option("--as-user", "username", default=None,
                  help="Show the trace as this user would read it (blinded users: masked).")
    def trace_command(identifier: str, username: str | None) -> None:
        """Print the trace of IDENTIFIER (DIN, lot id, bag code, wristband, ...)."""
        from ..auth.service import get_user_by_username
        from . import service

        reader = get_user_by_username(username) if username else _console_reader()
        if reader is None:
            raise click.ClickException(f"No user {username}.")
        try:
            result = service.trace(identifier, reader=reader)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        rows = service.table(result)
        click.echo(f"Trace of {result.root}"
                   f"{' (blinded view)' if result.blinded else ''}: "
                   f"{len(result.nodes)} records, {len(result.edges)} links")
        width = max((len(r.node.id) for r in rows), default=10)
        click.echo(f"{'RECORD':<{width}}  {'KIND':<13}  {'STATUS':<20}  LABEL")
        for row in rows:
            node = row.node
            click.echo(f"{node.id:<{width}}  {node.kind:<13}  {(node.status or ''):<20}  "
                       f"{node.label}")
        click.echo("")
        click.echo("LINKS")
        for edge in result.edges:
            click.echo(f"{edge.source} -[{edge.kind}]-> {edge.target}")


class _ConsoleReader:
    """Whoever runs the command holds the server and its database: the full view."""

    is_blinded = False
    full_name = "console"

    def can(self, permission: str) -> bool:
        return True


def _console_reader() -> _ConsoleReader:
    return _ConsoleReader()
