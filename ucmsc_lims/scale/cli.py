"""`flask seed-scale`: a synthetic study of any size, for benchmarks (SPEC 8, 9)."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db


def seed_scale(*, bags: int, donors: int | None = None, patients: int | None = None,
               today: int | None = None, force: bool = False, progress=None) -> dict:
    """Build the synthetic study into the app's database and commit it; returns counts.

    Seeds the demo study first when the database has no accounts (its accounts and places are
    what synthetic records hang on).
    """
    from ..auth.models import User
    from ..core import audit
    from ..core.clock import site_today
    from ..core.db import utcnow
    from ..demo.seed import seed as seed_demo
    from .build import Builder, Plan
    from .bulk import BulkWriter
    from .chain import seal_everything
    from .reference import load_reference, refuse_real_data

    started = time.perf_counter()
    refuse_real_data(force=force)
    if not db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        seed_demo()
        db.session.commit()
    session = db.session
    if session.get_bind().dialect.name == "sqlite":
        # A bulk load need not survive a power cut half-way: it is simply run again.
        driver = session.connection().connection.driver_connection
        if not driver.in_transaction:
            session.execute(sa.text("PRAGMA synchronous=OFF"))
        session.execute(sa.text("PRAGMA cache_size=-400000"))
    seal_everything()
    session.commit()
    plan = Plan.for_size(bags, donors=donors, patients=patients, today=today)
    now = utcnow()
    writer = BulkWriter(session, now=now)
    builder = Builder(writer, load_reference(), plan, now=now, today=site_today(),
                      facility=current_app.config["FACILITY_ID"],
                      progress=progress or (lambda n: None))

    def checkpoint() -> None:
        writer.flush()
        session.commit()

    builder.run(checkpoint)
    audit.record(session, "scale.seeded", ("database", "synthetic"), new={
        "bags": plan.bags, "patients": plan.patients, "today_patients": plan.today_patients,
        "banks": builder.upstream.banks_made})
    seal_everything()
    session.commit()
    return {"plan": plan, "rows": dict(writer.written), "audit_entries": builder.chain.count,
            "banks": builder.upstream.banks_made, "seconds": time.perf_counter() - started}


@click.command("seed-scale")
@click.option("--bags", type=click.IntRange(1, 5_000_000), required=True,
              help="How many bags (both arms) to add.")
@click.option("--donors", type=click.IntRange(1), default=None,
              help="How many donors' cell banks feed the cell bags (default: 100 bags each).")
@click.option("--patients", type=click.IntRange(1), default=None,
              help="How many patients (default: one per three bags; three doses each).")
@click.option("--today", "today", type=click.IntRange(0), default=None,
              help="Patients with dose 1 due today and its bag on the demo ward.")
@click.option("--force", is_flag=True,
              help="Add synthetic records even where non-demo accounts exist.")
@click.option("--verify/--no-verify", default=True, help="Verify the audit chain at the end.")
def seed_scale_command(bags: int, donors: int | None, patients: int | None,
                       today: int | None, force: bool, verify: bool) -> None:
    """Add a synthetic study: donors, lots, QC, patients of both arms, bags, custody,
    infusions and sealed audit entries. Refuses a database with real records unless --force."""
    from ..core import audit
    from ..core.sealer import sign_checkpoint
    from .reference import ScaleRefused

    try:
        with click.progressbar(length=bags, label="Synthetic bags", show_pos=True,
                               show_eta=True) as bar:
            result = seed_scale(bags=bags, donors=donors, patients=patients, today=today,
                                force=force, progress=bar.update)
    except (ScaleRefused, ValueError) as refused:
        raise click.ClickException(str(refused)) from None
    # The planner's statistics are from before the load: without fresh ones PostgreSQL plans
    # IN-list lookups on a million rows as scans (a 100-bag trace took 400 ms instead of 45).
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    # A signed checkpoint of the new head, so a routine check walks only what follows.
    sign_checkpoint(current_app._get_current_object(), force=True)
    plan = result["plan"]
    rows = sum(result["rows"].values())
    click.echo(f"Added {plan.bags} bags, {plan.patients} patients ({plan.today_patients} due "
               f"today on the demo ward), {result['banks']} donors and cell banks: {rows} rows, "
               f"{result['audit_entries']} sealed audit entries in {result['seconds']:.1f} s.")
    if verify:
        started = time.perf_counter()
        check = audit.verify(db.session, max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
        click.echo(f"Audit chain {'OK' if check.ok else 'BROKEN'}: {check.message} "
                   f"({time.perf_counter() - started:.1f} s)")
        if not check.ok:
            raise click.ClickException(f"first bad entry: {check.first_bad_seq}")


def register(app: Flask) -> None:
    app.cli.add_command(seed_scale_command)
