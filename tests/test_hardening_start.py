"""A safe start: demo secrets never serve a reachable address, and storage faults (an unwritable or
read-only data directory, an unwritable SQLite -shm file, a full disk) end in one clear line and a
non-zero exit instead of a traceback or a SIGBUS.

The machine runs the tests as root, for whom permission bits do not bind, and has no tiny tmpfs to
fill: the faults are injected where the product meets the operating system (a write, an open).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.app import storage
from agent.app.settings import Settings
from agent.app.storage import StorageError, check_data_dir, storage_failure
from agent.cli.main import cli, main

ORDERS = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "orders.json"
OWN = {
    "SHOPDESK_SECRET": "store-secret-of-our-own",
    "SHOPDESK_ADMIN_TOKEN": "admin-token-of-our-own",
    "SHOPDESK_STAFF_PASSWORD": "staff-password-of-our-own",
}


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    """`shopdesk ARGS` through the real entry point; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["shopdesk", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    return exited.value.code, out.out, out.err


# A safe start -----------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "shop.example.com"])
def test_serving_a_reachable_address_with_the_readme_secrets_is_refused(
    host: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "serve", "--host", host])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on")
    for name in OWN:
        assert name in lines[0]
    assert "Traceback" not in result.output


def test_the_refusal_names_only_the_secrets_still_at_their_demo_values(tmp_path: Path) -> None:
    env = {"SHOPDESK_SECRET": OWN["SHOPDESK_SECRET"]}
    result = CliRunner().invoke(
        cli, ["--data", str(tmp_path), "serve", "--host", "0.0.0.0"], env=env
    )
    assert result.exit_code == 2
    assert "SHOPDESK_ADMIN_TOKEN" in result.output and "SHOPDESK_STAFF_PASSWORD" in result.output
    assert "SHOPDESK_SECRET" not in result.output


def test_loopback_keeps_the_demo_and_own_secrets_open_any_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert Settings(host=host).unsafe_to_serve() is None  # `make run`
    for name, value in OWN.items():
        monkeypatch.setenv(name, value)
    assert Settings(host="0.0.0.0").unsafe_to_serve() is None


def test_demo_mode_is_the_demo_orders_without_a_store_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Settings().demo_mode
    assert not Settings(orders=tmp_path / "orders.json").demo_mode
    assert not Settings(orders=None).demo_mode
    monkeypatch.setenv("SHOPDESK_SECRET", "willow-and-kiln-demo-secret")  # set, even to the demo
    assert not Settings().demo_mode


# Storage faults ---------------------------------------------------------------------------------
def refuse(monkeypatch: pytest.MonkeyPatch, code: int, where: str | None = None) -> None:
    """Make the data-directory check meet `code` from the operating system: on its probe write,
    or on opening the file whose name ends with `where`."""

    def fail(path: Path) -> None:
        raise OSError(code, os.strerror(code), str(path))

    if where is None:
        monkeypatch.setattr(storage, "_probe_write", fail)
        return
    real = storage._open_for_writing

    def open_(path: Path) -> None:
        if str(path).endswith(where):
            fail(path)
        real(path)

    monkeypatch.setattr(storage, "_open_for_writing", open_)


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "the file system is read-only"),
        (errno.ENOSPC, "the disk is full"),
    ],
)
@pytest.mark.parametrize(
    "command", [["serve"], ["index"], ["orders", "import", str(ORDERS)]], ids=str
)
def test_an_unusable_data_directory_is_one_line_and_a_non_zero_exit(
    command: list[str],
    code: int,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refuse(monkeypatch, code)
    status, out, err = run_main(monkeypatch, capsys, "--data", str(tmp_path), *command)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: the data directory {tmp_path} is not writable: {said}")
    assert "SHOPDESK_DATA" in lines[0] and "Traceback" not in err + out


def test_an_unwritable_sqlite_shm_file_is_refused_before_sqlite_maps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What killed the server with SIGBUS: a -shm file the server's user cannot write.
    db = tmp_path / "shopdesk.db"
    with sqlite3.connect(db) as conn:
        conn.execute("pragma journal_mode=wal")
        conn.execute("create table t (x)")
        conn.execute("insert into t values (1)")
        (tmp_path / "shopdesk.db-shm").write_bytes(b"\0" * 32768)
        refuse(monkeypatch, errno.EACCES, where="shopdesk.db-shm")
        status, out, err = run_main(monkeypatch, capsys, "--data", str(tmp_path), "serve")
    assert status == 1
    assert err.strip().splitlines() == [
        f"error: {tmp_path / 'shopdesk.db-shm'} in the data directory is not writable: "
        "permission denied (the server's user cannot write there); fix its permissions "
        "(it must belong to the server's user)"
    ]


def test_a_full_disk_during_an_import_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from actions.store.orders import OrderStore

    def full(self: object, path: Path) -> object:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "shopdesk.db"))

    monkeypatch.setattr(OrderStore, "import_file", full)
    status, out, err = run_main(
        monkeypatch, capsys, "--data", str(tmp_path), "orders", "import", str(ORDERS)
    )
    assert status == 1
    assert err.strip() == f"error: cannot write ({tmp_path / 'shopdesk.db'}): the disk is full"


def test_a_full_disk_while_indexing_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge import KnowledgeBase

    def full(self: object, *args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(KnowledgeBase, "index", full)
    status, _, err = run_main(monkeypatch, capsys, "--data", str(tmp_path), "index")
    assert (status, err.strip()) == (1, "error: cannot write: the disk is full")


def test_a_full_disk_while_the_server_starts_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import agent.app.server
    import knowledge.embedding

    def full(settings: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "shopdesk.db"))

    monkeypatch.setattr(knowledge.embedding, "warm_up_queries", lambda *a: None)
    monkeypatch.setattr(agent.app.server, "build_app", full)
    status, _, err = run_main(monkeypatch, capsys, "--data", str(tmp_path), "serve")
    assert status == 1
    assert err.strip() == f"error: cannot write ({tmp_path / 'shopdesk.db'}): the disk is full"


def test_sqlite_storage_errors_are_said_in_words_and_other_errors_keep_their_trace() -> None:
    readonly = sqlite3.OperationalError("attempt to write a readonly database")
    assert "read-only" in (storage_failure(readonly) or "")
    full = sqlite3.OperationalError("database or disk is full")
    assert "disk is full" in (storage_failure(full) or "")
    from sqlalchemy.exc import OperationalError

    wrapped = OperationalError("INSERT …", {}, readonly)
    assert "read-only" in (storage_failure(wrapped) or "")
    assert storage_failure(ValueError("a bug")) is None
    assert storage_failure(sqlite3.OperationalError("no such table: t")) is None


def test_a_healthy_data_directory_passes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    check_data_dir(data)
    assert data.is_dir() and list(data.iterdir()) == []
    (data / "shopdesk.db").write_bytes(b"")
    check_data_dir(data)
    with pytest.raises(StorageError):
        check_data_dir(data / "shopdesk.db")  # a file where the directory should be


def test_a_full_disk_while_the_app_indexes_at_start_up_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inside uvicorn's start-up, where Starlette would log the whole traceback."""
    import agent.app.server
    import knowledge.embedding
    from agent.app.background import bind_loopback

    def full(settings: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "chroma"))

    monkeypatch.setattr(knowledge.embedding, "warm_up_queries", lambda *a: None)
    monkeypatch.setattr(agent.app.server, "_open_knowledge", full)
    free = bind_loopback("127.0.0.1", 0)  # a port nobody uses, should the fault not happen
    port = str(free.getsockname()[1])
    free.close()
    status, _, err = run_main(
        monkeypatch,
        capsys,
        "--data",
        str(tmp_path),
        "serve",
        "--port",
        port,
        "--log-level",
        "error",
    )
    assert status == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        f"error: cannot write ({tmp_path / 'chroma'}): the disk is full"
    )
