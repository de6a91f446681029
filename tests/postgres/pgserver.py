"""A throwaway PostgreSQL 15 server with the kse extension, for tests and benchmarks.

    from pgserver import PgServer
    with PgServer(repo_root) as pg:                  # builds, installs, initdb, starts
        pg.psql("CREATE EXTENSION kse")
        print(pg.psql("SELECT kse_version()").stdout)
        proc = pg.psql_background("SELECT pg_sleep(10)")   # subprocess.Popen
        rss = pg.backend_rss_kib(pid)                # VmRSS of a backend, KiB

What it does, so that nothing is installed into the system's directories:

1. `make -C extensions/postgres` and `make ... install DESTDIR=<repo>/target/postgres/root`.
2. Turns that DESTDIR into a private, relocatable PostgreSQL tree. PostgreSQL finds
   its share and lib directories relative to its own binary (symlinks resolved),
   so `postgres`, `initdb` and `pg_ctl` are copied into the tree's bindir, and its
   sharedir and pkglibdir are filled with symlinks to every system entry DESTDIR
   did not provide; `extension/` is a real directory with symlinks to the system's
   extension files next to the installed kse files.
3. initdb (-U kse_admin, trust, UTF8) into a fresh tempfile.mkdtemp() directory
   and starts the server with its Unix socket in that directory and no TCP
   listener. As root the server runs as `nobody` (initdb refuses root), through
   `runuser -u nobody --`; the temp directory is chowned to it, and it is first
   checked that nobody can read libkse.so, libonnxruntime.so.1 and the model.
4. On exit (also after an exception, and from atexit as a fallback): stop the
   server (fast, then immediate) and remove the temp directory.

Client tools (psql, pgbench) are the system's: SYSTEM_BIN.

One PgServer per repository at a time: the private tree under target/postgres/root
is rebuilt by each start.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping, Optional, Sequence

SYSTEM_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN = "kse_admin"
SERVER_USER = "nobody"


def pg_config_path() -> str:
    """The pg_config the Makefile uses: PG_CONFIG, then PostgreSQL 15's, then PATH's."""
    env = os.environ.get("PG_CONFIG")
    if env:
        return env
    p = SYSTEM_BIN / "pg_config"
    return str(p) if p.exists() else "pg_config"


class PgServer:
    """Context manager for a private PostgreSQL server with kse installed.

    repo_root: the kse checkout (extension built from its extensions/postgres).
    settings:  extra server settings, passed as `-c name=value` (values without
               spaces or quotes; e.g. {"fsync": "off", "kse.model_dir": "/models/x"}).
    build:     run make / make install first (False: reuse target/postgres/root).
    """

    _running: "list[PgServer]" = []

    @classmethod
    def running(cls) -> "list[PgServer]":
        """Servers of this process that are up (for printing their logs on failure)."""
        return list(cls._running)

    def __init__(self, repo_root: str | os.PathLike, settings: Optional[Mapping[str, str]] = None,
                 build: bool = True, max_connections: int = 30):
        self.repo = Path(repo_root).resolve()
        self.settings = dict(settings or {})
        self.build = build
        self.max_connections = max_connections
        self.root = self.repo / "target" / "postgres" / "root"
        self.tmp: Optional[Path] = None
        self._started = False
        self._as_nobody = os.geteuid() == 0
        cfg = pg_config_path()
        q = lambda flag: subprocess.run([cfg, flag], check=True, capture_output=True, text=True).stdout.strip()
        self._sys_bindir = Path(q("--bindir"))
        self._sys_sharedir = Path(q("--sharedir"))
        self._sys_pkglibdir = Path(q("--pkglibdir"))
        self._pg_config = cfg

    # ---- properties -------------------------------------------------------------
    @property
    def host(self) -> str:
        """Directory of the server's Unix socket (use as -h / PGHOST)."""
        assert self.tmp is not None, "server not started"
        return str(self.tmp)

    socket_dir = host

    @property
    def bin_dir(self) -> Path:
        """bindir of the private tree (postgres, initdb, pg_ctl)."""
        return Path(str(self.root) + str(self._sys_bindir))

    @property
    def system_bin_dir(self) -> Path:
        """The system's PostgreSQL client tools (psql, pgbench)."""
        return self._sys_bindir

    @property
    def data_dir(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "data"

    @property
    def log_path(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "server.log"

    def client_env(self, user: str = ADMIN, db: str = "postgres") -> dict:
        """Environment for libpq clients (psql, pgbench) to reach this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=self.host, PGUSER=user, PGDATABASE=db, PGCONNECT_TIMEOUT="10",
                   PGCLIENTENCODING="UTF8")
        return env

    # ---- lifecycle --------------------------------------------------------------
    def __enter__(self) -> "PgServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if self.build:
            self._build_tree()
        self.tmp = Path(tempfile.mkdtemp(prefix="kse-pg-"))
        atexit.register(self.stop)
        if self._as_nobody:
            self._check_nobody_can_read()
            shutil.chown(self.tmp, user=SERVER_USER)
        self._server_cmd([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "--auth=trust",
                          "-U", ADMIN, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                         timeout=300)
        opts = [f"-c listen_addresses='' -k {self.tmp} -c max_connections={self.max_connections}"]
        opts += [f"-c {k}={v}" for k, v in self.settings.items()]
        self._server_cmd([str(self.bin_dir / "pg_ctl"), "-w", "-t", "120", "-D", str(self.data_dir),
                          "-l", str(self.log_path), "-o", " ".join(opts), "start"], timeout=180)
        self._started = True
        PgServer._running.append(self)

    def stop(self) -> None:
        """Stops the server (fast, then immediate) and removes the temp directory; idempotent."""
        if self.tmp is None:
            return
        if self._started or (self.data_dir / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                try:
                    r = self._server_cmd([str(self.bin_dir / "pg_ctl"), "-w", "-t", "60", "-D",
                                          str(self.data_dir), "-m", mode, "stop"], check=False, timeout=90)
                    if r.returncode == 0 or not (self.data_dir / "postmaster.pid").exists():
                        break
                except subprocess.TimeoutExpired:
                    pass
        self._started = False
        if self in PgServer._running:
            PgServer._running.remove(self)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = None

    # ---- clients ----------------------------------------------------------------
    def psql_cmd(self, db: str = "postgres", user: str = ADMIN, args: Sequence[str] = ()) -> list:
        return [str(self.system_bin_dir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                "-h", self.host, "-U", user, "-d", db, *args]

    def psql(self, sql: str, db: str = "postgres", user: str = ADMIN, check: bool = True,
             timeout: float = 300, args: Sequence[str] = ()) -> subprocess.CompletedProcess:
        """Runs sql (on stdin) through psql -X -q -At -v ON_ERROR_STOP=1 (client encoding UTF8);
        returns the CompletedProcess (text).

        check=True raises RuntimeError with stderr and the server log tail on failure.
        """
        r = subprocess.run(self.psql_cmd(db, user, args), input=sql, capture_output=True, text=True,
                           timeout=timeout, env=self.client_env(user, db))
        if check and r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}):\n{r.stderr}\n--- server log tail ---\n"
                               f"{self.log_tail(30)}")
        return r

    def psql_background(self, sql: str, db: str = "postgres", user: str = ADMIN,
                        args: Sequence[str] = ()) -> subprocess.Popen:
        """Starts psql with sql on its command line (-c); returns the Popen (text pipes)."""
        return subprocess.Popen(self.psql_cmd(db, user, [*args, "-c", sql]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.client_env(user, db))

    def log_tail(self, lines: int = 50) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AssertionError):
            return ""

    @staticmethod
    def backend_rss_kib(pid: int) -> int:
        """VmRSS of a process (e.g. SELECT pg_backend_pid()) in KiB, from /proc/<pid>/status."""
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {pid}")

    # ---- internals --------------------------------------------------------------
    def _server_cmd(self, cmd: list, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        if self._as_nobody:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and not k.startswith("KSE_")}
        env["LC_ALL"] = "C.UTF-8"
        r = subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                               f"--- server log tail ---\n{self.log_tail(30)}")
        return r

    def _build_tree(self) -> None:
        ext = self.repo / "extensions" / "postgres"
        make = ["make", "-s", "-C", str(ext), f"PG_CONFIG={self._pg_config}"]
        shutil.rmtree(self.root, ignore_errors=True)
        for cmd in (make, [*make, "install", f"DESTDIR={self.root}"]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
        bindir = self.bin_dir
        sharedir = Path(str(self.root) + str(self._sys_sharedir))
        libdir = Path(str(self.root) + str(self._sys_pkglibdir))
        bindir.mkdir(parents=True, exist_ok=True)
        for exe in ("postgres", "initdb", "pg_ctl"):
            shutil.copy2(self._sys_bindir / exe, bindir / exe)
        _link_missing(self._sys_sharedir, sharedir)
        _link_missing(self._sys_sharedir / "extension", sharedir / "extension")
        _link_missing(self._sys_pkglibdir, libdir)
        os.chmod(self.root, 0o755)

    def _check_nobody_can_read(self) -> None:
        libdir = self.repo / "target" / "release"
        model = Path(self.settings.get("kse.model_dir") or self.repo / "models" / "kse-ko-small")
        paths = [libdir / "libkse.so", libdir / "libonnxruntime.so.1", model, self.bin_dir / "postgres"]
        paths += sorted(model.iterdir()) if model.is_dir() else []
        for p in paths:
            tests = ["-r", "-x"] if p.is_dir() else ["-r"]
            for t in tests:
                r = subprocess.run(["runuser", "-u", SERVER_USER, "--", "test", t, str(p)], cwd="/")
                if r.returncode != 0:
                    raise RuntimeError(f"the server runs as user {SERVER_USER!r}, who cannot read {p} "
                                       f"(test {t} failed); make it and its parent directories readable "
                                       f"(e.g. chmod o+rX)")


def _link_missing(src: Path, dst: Path) -> None:
    """Symlinks into dst every entry of src that dst does not have."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        target = dst / entry.name
        if not target.exists() and not target.is_symlink():
            target.symlink_to(entry)
