"""Database.dispose while writers still write (a stopping service's last
report races the stop): on SQLite every writer shares one DBAPI connection,
and closing it under a running statement crashed the interpreter in
sqlite3. Run in a child process, so that a crash fails this test instead
of killing the test worker."""
from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent("""
    import sys, tempfile, threading, time
    from taskvisor.db.session import Database

    db = Database(f"sqlite:///{tempfile.mkdtemp()}/race.db")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    stop, errors = threading.Event(), []

    def write():
        while not stop.is_set():
            try:
                with db.write() as conn:
                    conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    disposes, end = 0, time.monotonic() + 2
    while time.monotonic() < end:
        db.dispose()
        disposes += 1
        time.sleep(0.001)
    stop.set()
    for thread in threads:
        thread.join()
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
    print("disposes", disposes, "rows", rows, "errors", errors[:3])
    sys.exit(1 if errors or not rows else 0)
""")


def test_dispose_while_writers_write_neither_crashes_nor_fails_a_write():
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-3000:])
    assert "disposes" in done.stdout
