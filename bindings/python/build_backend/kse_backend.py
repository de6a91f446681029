"""The PEP 517 build backend of the kse Python package: standard library only.

pyproject.toml names it with `backend-path`, and `requires = []`, so
`pip install bindings/python` needs nothing from a package index (it works
offline, with or without build isolation) and there is no unpinned build
dependency. It writes plain wheels and sdists with zipfile/tarfile from the
[project] table of pyproject.toml.

Native libraries: the wheel bundles libkse.so and libonnxruntime.so.1 in
kse/_native/ (libkse finds ONNX Runtime beside itself) when
`KSE_BUNDLE_NATIVE` (or the config setting `bundle-native`) says so:
  auto (default)  bundle if both files are in the native directory;
  1               bundle, and fail if they are missing;
  0               never: a pure wheel that uses KSE_LIBRARY or an installed libkse.
The native directory is `KSE_NATIVE_DIR` (config setting `native-dir`), by
default target/release of the source checkout this package sits in.
A bundled wheel is tagged for this platform (py3-none-linux_x86_64).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent  # bindings/python
PACKAGE = "kse"
NATIVE_FILES = ("libkse.so", "libonnxruntime.so.1", "onnxruntime-LICENSE", "onnxruntime-ThirdPartyNotices.txt")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _dist_name(project: dict) -> str:
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lic = project.get("license", {})
    if isinstance(lic, dict) and "text" in lic:
        lines.append(f"License: {lic['text']}")
    for url_name, url in project.get("urls", {}).items():
        lines.append(f"Project-URL: {url_name}, {url}")
    for dep in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    body = ""
    readme = project.get("readme")
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        body = (ROOT / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + body


def _setting(config_settings, key: str, env: str, default: str) -> str:
    if config_settings and config_settings.get(key) is not None:
        return str(config_settings[key])
    return os.environ.get(env, default)


def _native_files(config_settings) -> list:
    """(path in wheel, source path) of the native libraries to bundle."""
    mode = _setting(config_settings, "bundle-native", "KSE_BUNDLE_NATIVE", "auto").lower()
    if mode in ("0", "no", "false", "off"):
        return []
    native = Path(_setting(config_settings, "native-dir", "KSE_NATIVE_DIR", str(ROOT.parent.parent / "target" / "release")))
    found = [native / name for name in NATIVE_FILES]
    missing = [str(p) for p in found if not p.is_file()]
    if missing:
        if mode in ("1", "yes", "true", "on"):
            raise FileNotFoundError(
                f"KSE_BUNDLE_NATIVE=1 but {', '.join(missing)} missing: run `make setup` in the kse "
                f"checkout, or set KSE_NATIVE_DIR to the folder holding {' and '.join(NATIVE_FILES)}"
            )
        if mode != "auto":
            raise ValueError(f"KSE_BUNDLE_NATIVE must be auto, 1 or 0, not {mode!r}")
        return []
    return [(f"{PACKAGE}/_native/{p.name}", p.resolve()) for p in found]


def _package_files() -> list:
    """(path in wheel, source path) of the Python package."""
    src = ROOT / PACKAGE
    return [
        (f"{PACKAGE}/{p.relative_to(src).as_posix()}", p)
        for p in sorted(src.rglob("*"))
        if p.is_file() and (p.suffix in (".py", ".typed")) and "__pycache__" not in p.parts
    ]


def _platform_tag() -> str:
    return re.sub(r"[-.]", "_", sysconfig.get_platform())


class _Wheel:
    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.record = []

    def add(self, name: str, data: bytes, executable: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
        info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.record.append(f"{name},sha256={digest},{len(data)}")

    def close(self, record_name: str) -> None:
        self.record.append(f"{record_name},,")
        info = zipfile.ZipInfo(record_name, date_time=ZIP_DATE)
        info.external_attr = 0o100644 << 16
        self.zip.writestr(info, "\n".join(self.record) + "\n")
        self.zip.close()


def _write_dist_info(dest: Path, project: dict, pure: bool, tag: str) -> str:
    name = f"{_dist_name(project)}-{project['version']}.dist-info"
    d = dest / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "METADATA").write_text(_metadata(project), encoding="utf-8")
    (d / "WHEEL").write_text(_wheel_file(pure, tag), encoding="utf-8")
    return name


def _wheel_file(pure: bool, tag: str) -> str:
    return (
        "Wheel-Version: 1.0\nGenerator: kse_backend\n"
        f"Root-Is-Purelib: {'true' if pure else 'false'}\nTag: {tag}\n"
    )


def _build(wheel_directory: str, files: list, pure: bool, extra: dict | None = None) -> str:
    project = _project()
    tag = "py3-none-any" if pure else f"py3-none-{_platform_tag()}"
    dist = _dist_name(project)
    filename = f"{dist}-{project['version']}-{tag}.whl"
    info = f"{dist}-{project['version']}.dist-info"
    wheel = _Wheel(Path(wheel_directory) / filename)
    for arc, src in files:
        wheel.add(arc, Path(src).read_bytes(), executable=arc.endswith((".so", ".so.1")))
    for arc, data in (extra or {}).items():
        wheel.add(arc, data)
    wheel.add(f"{info}/METADATA", _metadata(project).encode("utf-8"))
    wheel.add(f"{info}/WHEEL", _wheel_file(pure, tag).encode())
    wheel.add(f"{info}/top_level.txt", f"{PACKAGE}\n".encode())
    wheel.close(f"{info}/RECORD")
    return filename


# -- PEP 517 hooks ------------------------------------------------------------


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    pure = not _native_files(config_settings)
    tag = "py3-none-any" if pure else f"py3-none-{_platform_tag()}"
    return _write_dist_info(Path(metadata_directory), _project(), pure, tag)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _write_dist_info(Path(metadata_directory), _project(), True, "py3-none-any")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    native = _native_files(config_settings)
    return _build(wheel_directory, _package_files() + native, pure=not native)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file that puts this folder on sys.path: the package is used from
    # the source tree, which finds target/release/libkse.so by itself.
    pth = (str(ROOT) + "\n").encode()
    return _build(wheel_directory, [], pure=True, extra={f"__editable__.{PACKAGE}.pth": pth})


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    files = [("pyproject.toml", ROOT / "pyproject.toml"), ("build_backend/kse_backend.py", Path(__file__))]
    readme = project.get("readme")
    if readme:
        files.append((readme, ROOT / readme))
    files += _package_files()
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    path = Path(sdist_directory) / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:

        def add(arc: str, data: bytes) -> None:
            ti = tarfile.TarInfo(f"{base}/{arc}")
            ti.size, ti.mtime, ti.mode = len(data), mtime, 0o644
            tar.addfile(ti, io.BytesIO(data))

        add("PKG-INFO", _metadata(project).encode("utf-8"))
        for arc, src in files:
            add(arc, Path(src).read_bytes())
    return path.name
