"""Packaging: the in-tree build backend's wheels and sdist, `pip install
bindings/python` into a throwaway venv used from outside the repository, and
how an installed package finds libkse."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from support import BINDING, MODEL_DIR, REPO, WORK, clean_env, reference, require, tiny

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

PY_FILES = {"kse/__init__.py", "kse/_encoder.py", "kse/_errors.py", "kse/_library.py", "kse/py.typed"}
DIST_INFO = {f"kse-0.2.0.dist-info/{n}" for n in ("METADATA", "WHEEL", "RECORD", "top_level.txt")}
NATIVE = {f"kse/_native/{n}" for n in ("libkse.so", "libonnxruntime.so.1", "onnxruntime-LICENSE", "onnxruntime-ThirdPartyNotices.txt")}


def load_backend(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wheel_files(whl: Path) -> dict:
    """Name -> bytes of a wheel, after checking RECORD lists every file with its hash and size."""
    with zipfile.ZipFile(whl) as z:
        files = {n: z.read(n) for n in z.namelist()}
    record = next(v for n, v in files.items() if n.endswith(".dist-info/RECORD")).decode()
    rows = [line.rsplit(",", 2) for line in record.splitlines()]
    assert {r[0] for r in rows} == set(files), "RECORD lists exactly the wheel's files"
    for name, digest, size in rows:
        if name.endswith("/RECORD"):
            assert digest == size == ""
            continue
        want = base64.urlsafe_b64encode(hashlib.sha256(files[name]).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={want}" and int(size) == len(files[name]), name
    return files


def run(cmd: list, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300, env=clean_env(**env))
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out


def test_versions_agree(kse):
    with open(BINDING / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    with open(REPO / "Cargo.toml", "rb") as f:
        cargo = tomllib.load(f)["package"]["version"]
    assert project["version"] == kse.__version__ == cargo == kse.library_version()
    assert project["dependencies"] == ["numpy>=1.21"]


def test_backend_builds_pure_wheel_sdist_and_editable(tmp_path, monkeypatch):
    for var in ("KSE_BUNDLE_NATIVE", "KSE_NATIVE_DIR"):
        monkeypatch.delenv(var, raising=False)
    backend = load_backend(BINDING / "build_backend" / "kse_backend.py", "kse_backend_tree")
    assert backend.get_requires_for_build_wheel() == [] and backend.get_requires_for_build_sdist() == []

    name = backend.build_wheel(str(tmp_path), {"bundle-native": "0"})
    assert name == "kse-0.2.0-py3-none-any.whl"
    files = wheel_files(tmp_path / name)
    assert set(files) == PY_FILES | DIST_INFO
    for arc in PY_FILES:
        assert files[arc] == (BINDING / arc).read_bytes(), arc
    meta = files["kse-0.2.0.dist-info/METADATA"].decode()
    assert "Name: kse\nVersion: 0.2.0\n" in meta and "Requires-Dist: numpy>=1.21" in meta
    assert "Root-Is-Purelib: true" in files["kse-0.2.0.dist-info/WHEEL"].decode()

    with pytest.raises(FileNotFoundError, match="make setup"):
        backend.build_wheel(str(tmp_path), {"bundle-native": "1", "native-dir": str(tmp_path / "empty")})

    editable = wheel_files(tmp_path / backend.build_editable(str(tmp_path)))
    assert editable["__editable__.kse.pth"].decode().strip() == str(BINDING)

    sdist = tmp_path / backend.build_sdist(str(tmp_path))
    assert sdist.name == "kse-0.2.0.tar.gz"
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "src")
        members = {m.name for m in tar.getmembers()}
    assert {f"kse-0.2.0/{n}" for n in PY_FILES | {"pyproject.toml", "README.md", "PKG-INFO", "build_backend/kse_backend.py"}} == members
    # An unpacked sdist has no target/release beside it: "auto" gives the pure wheel.
    unpacked = load_backend(tmp_path / "src" / "kse-0.2.0" / "build_backend" / "kse_backend.py", "kse_backend_sdist")
    out = tmp_path / "from-sdist"
    out.mkdir()
    again = wheel_files(out / unpacked.build_wheel(str(out)))
    assert set(again) == set(files) and all(again[a] == files[a] for a in PY_FILES)


def test_pip_install_into_a_venv_works_outside_the_repo(tmp_path):
    """`pip install bindings/python` (offline, build isolation on) into a fresh
    venv; the installed package, with its bundled libkse and ONNX Runtime,
    encodes with the default model from a directory outside the repository."""
    require(REPO / "target" / "release" / "libkse.so", "libkse.so")
    model = require(MODEL_DIR, "default model").resolve()
    sentences, ref = reference()
    venv = WORK / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    site = Path(run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp_path).stdout.strip())
    # numpy without a package index: the venv sees the test interpreter's site-packages.
    (site / "_kse_test_numpy.pth").write_text(str(Path(np.__file__).resolve().parents[1]) + "\n")
    run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--no-index",
         "--no-cache-dir", "--disable-pip-version-check", "-q", BINDING], cwd=tmp_path)
    assert "Tag: py3-none-linux_x86_64" in (site / "kse-0.2.0.dist-info" / "WHEEL").read_text()

    script = textwrap.dedent(f"""
        import json, sys
        import kse
        with kse.Encoder({str(model)!r}) as enc:
            vectors = enc.encode({sentences[:3]!r})
            name = enc.name
        maps = [l.split()[-1] for l in open("/proc/self/maps") if "libkse" in l or "libonnxruntime" in l]
        print(json.dumps({{"file": kse.__file__, "library": kse.library_path(), "name": name,
                          "vectors": vectors.tolist(), "path": sys.path, "maps": sorted(set(maps))}}))
    """)
    got = json.loads(run([venv / "bin" / "python", "-c", script], cwd=tmp_path).stdout)
    native = site / "kse" / "_native"
    assert got["file"] == str(site / "kse" / "__init__.py")
    assert got["library"] == str(native / "libkse.so")
    assert got["maps"] == [str(native / "libkse.so"), str(native / "libonnxruntime.so.1")], got["maps"]
    assert not any(str(REPO / "bindings") in p for p in got["path"]), "the source tree must not be on sys.path"
    assert got["name"] == "kse-ko-small"
    diff = float(np.abs(np.array(got["vectors"], dtype=np.float32) - ref[:3]).max())
    assert diff <= 1e-5, f"installed package vs reference: {diff}"


def test_pure_wheel_finds_libkse_by_env_or_system_path(tmp_path):
    """KSE_BUNDLE_NATIVE=0 gives a pure wheel; installed outside the source tree
    it finds libkse through KSE_LIBRARY or ctypes.util.find_library, and says
    where it looked when neither has one."""
    release = require(REPO / "target" / "release" / "libkse.so", "libkse.so").parent
    run([sys.executable, "-m", "pip", "wheel", "--no-index", "--no-deps", "--no-cache-dir",
         "--disable-pip-version-check", "-q", "-w", tmp_path / "wheels", BINDING], cwd=tmp_path, KSE_BUNDLE_NATIVE="0")
    (whl,) = (tmp_path / "wheels").glob("*.whl")
    assert whl.name == "kse-0.2.0-py3-none-any.whl"
    site = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir",
         "--disable-pip-version-check", "-q", "--target", site, whl], cwd=tmp_path)
    assert not (site / "kse" / "_native").exists()

    probe = textwrap.dedent(f"""
        import ctypes.util, json, os
        import kse
        out = {{"file": kse.__file__, "find_library": ctypes.util.find_library("kse")}}
        try:
            with kse.Encoder({str(tiny())!r}) as enc:
                out["shape"] = list(enc.encode(["안녕"]).shape)
            out["library"] = kse.library_path()
            out["maps"] = sorted({{os.path.realpath(l.split()[-1]) for l in open("/proc/self/maps") if "libkse" in l}})
        except kse.LibraryError as e:
            out["error"] = str(e)
        print(json.dumps(out))
    """)

    def probe_with(**env: str) -> dict:
        got = json.loads(run([sys.executable, "-c", probe], cwd=tmp_path, PYTHONPATH=str(site), **env).stdout)
        assert got["file"] == str(site / "kse" / "__init__.py")
        return got

    by_env = probe_with(KSE_LIBRARY=str(release / "libkse.so"))
    assert by_env["library"] == str(release / "libkse.so") and by_env["shape"] == [1, 16]

    by_path = probe_with(LD_LIBRARY_PATH=str(release))
    assert by_path["library"] == by_path["find_library"] == "libkse.so.0"
    assert by_path["maps"] == [str((release / "libkse.so").resolve())] and by_path["shape"] == [1, 16]

    bare = probe_with()
    if bare["find_library"] is None or "error" in bare:
        message = bare["error"]
        assert "libkse not found" in message and "$KSE_LIBRARY: not set" in message
        assert f"{site / 'kse' / '_native' / 'libkse.so'} (no such file)" in message
        assert "source checkout: not imported from a source checkout" in message
        assert 'ctypes.util.find_library("kse")' in message and "make setup" in message
    else:  # a system-wide kse (make install) is there: the last step found it
        assert bare["library"] == bare["find_library"]
