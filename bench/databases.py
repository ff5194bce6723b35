"""The bench databases: built once with `flask seed-scale`, kept between runs (SQLite files under
bench/data/, PostgreSQL databases ucmsc_bench_<size>) and rebuilt only when the migration head
changed in a way an upgrade cannot follow (or an earlier build did not finish). A finished
build of an older head is upgraded in place with `flask db upgrade`, as a site's database would
be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
PG_SERVER_URL = os.environ.get("BENCH_PG_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def size_label(bags: int) -> str:
    if bags % 1_000_000 == 0:
        return f"{bags // 1_000_000}m"
    if bags % 1000 == 0:
        return f"{bags // 1000}k"
    return str(bags)


def _alembic_config() -> Config:
    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def migration_head() -> str:
    return ",".join(sorted(ScriptDirectory.from_config(_alembic_config()).get_heads()))


@dataclass
class BenchDatabase:
    engine: str  # "sqlite" | "postgresql"
    bags: int

    @property
    def name(self) -> str:
        return f"ucmsc_bench_{size_label(self.bags)}"

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{DATA / (self.name + '.sqlite3')}"
        return sa.make_url(PG_SERVER_URL).set(database=self.name).render_as_string(
            hide_password=False)

    @property
    def stamp_path(self) -> Path:
        return DATA / f"{self.name}.{self.engine}.json"

    def stamp(self) -> dict | None:
        try:
            return json.loads(self.stamp_path.read_text())
        except (OSError, ValueError):
            return None

    def _exists(self) -> bool:
        if self.engine == "sqlite":
            return (DATA / f"{self.name}.sqlite3").exists()
        engine = sa.create_engine(PG_SERVER_URL)
        try:
            with engine.connect() as conn:
                return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": self.name}))
        finally:
            engine.dispose()

    def is_current(self, head: str) -> bool:
        stamp = self.stamp()
        return bool(stamp and stamp.get("head") == head and stamp.get("bags") == self.bags
                    and stamp.get("complete") and self._exists())

    def _drop_and_create(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                (DATA / f"{self.name}.sqlite3{suffix}").unlink(missing_ok=True)
            return
        engine = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        finally:
            engine.dispose()

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "PYTHONPATH": str(ROOT)}

    def _forget_merged_heads(self) -> None:
        """Parallel heads the database was stamped with, since chained one after another:
        a stamped revision that another stamped one now descends from is applied already, and
        Alembic refuses to upgrade past both ("overlaps with other requested revisions")."""
        script = ScriptDirectory.from_config(_alembic_config())
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                stamped = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
                below = {r.revision for rev in stamped
                         for r in script.iterate_revisions(rev, "base") if r.revision != rev}
                for revision in stamped & below:
                    conn.execute(sa.text("DELETE FROM alembic_version WHERE version_num = :r"),
                                 {"r": revision})
        finally:
            engine.dispose()

    def ensure(self, log) -> dict:
        """Build unless a finished build for this migration head exists; returns the stamp."""
        DATA.mkdir(parents=True, exist_ok=True)
        head = migration_head()
        if self.is_current(head):
            log(f"{self.engine} {self.name}: cached (head {head})")
            return self.stamp()
        stamp = self.stamp()
        if stamp and stamp.get("complete") and stamp.get("bags") == self.bags and self._exists():
            log(f"{self.engine} {self.name}: upgrading from head {stamp.get('head')} to {head}")
            self._forget_merged_heads()
            subprocess.run([*FLASK, "db", "upgrade", "heads"], cwd=ROOT, env=self.env(),
                           check=True, capture_output=True)
            stamp["head"] = head
            stamp.setdefault("upgraded_at", []).append(time.strftime("%Y-%m-%d %H:%M"))
            self.stamp_path.write_text(json.dumps(stamp, indent=1))
            return stamp
        log(f"{self.engine} {self.name}: building {self.bags} bags (head {head})")
        self.stamp_path.unlink(missing_ok=True)
        self._drop_and_create()
        subprocess.run([*FLASK, "db", "upgrade", "heads"], cwd=ROOT, env=self.env(),
                       check=True, capture_output=True)
        started = time.perf_counter()
        done = subprocess.run([*FLASK, "seed-scale", "--bags", str(self.bags), "--no-verify"],
                              cwd=ROOT, env=self.env(), check=True, capture_output=True,
                              text=True)
        stamp = {"head": head, "bags": self.bags, "complete": True,
                 "seed_seconds": round(time.perf_counter() - started, 1),
                 "seed_output": done.stdout.strip().splitlines()[-1:],
                 "built_at": time.strftime("%Y-%m-%d %H:%M")}
        self.stamp_path.write_text(json.dumps(stamp, indent=1))
        log(f"{self.engine} {self.name}: built in {stamp['seed_seconds']} s")
        return stamp
