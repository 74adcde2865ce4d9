"""A throwaway PostgreSQL cluster for the test suite: ``python -m tests.pgcluster CMD …`` runs CMD with
``MATCHER_TEST_PG`` pointing at a fresh server, and always stops and removes the cluster afterwards.

Debian's ``postgresql`` package provides the binaries (``make test`` installs it when missing); the
cluster lives in a temporary directory owned by the ``postgres`` user (initdb refuses root), listens on
a free port on loopback only, trusts local connections, and is tuned for tests (no fsync: a crashed
test cluster is thrown away anyway). No Docker, no system service.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin(name: str) -> str:
    """The newest installed PostgreSQL's binary (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise FileNotFoundError(f"PostgreSQL's {name} not found; install Debian's postgresql package")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return args if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]


@contextmanager
def cluster() -> Iterator[str]:
    """Start a cluster; yields its SQLAlchemy base URL (``postgresql+psycopg://postgres@127.0.0.1:PORT``)."""
    root = Path(tempfile.mkdtemp(prefix="matcher-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    log = root / "server.log"
    started = False
    try:
        subprocess.run(_as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL)
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
                                     "start"]), check=True, stdout=subprocess.DEVNULL)
        started = True
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if started:
            subprocess.run(_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through cluster()'s finally: the cluster is stopped and removed


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.pgcluster COMMAND [ARGS…]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    with cluster() as url:
        print(f"PostgreSQL test cluster at {url} ({pg_bin('postgres')})", flush=True)
        started = time.time()
        child = subprocess.Popen(argv, env={**os.environ, "MATCHER_TEST_PG": url})
        try:
            code = child.wait()
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait(timeout=60)
        print(f"PostgreSQL run finished in {time.time() - started:.0f} s with exit code {code}", flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
