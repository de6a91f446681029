"""Where libkse looks for a default model and for ONNX Runtime when the
caller names neither, and the places it must never take them from.

Each case copies libkse.so into a layout, plants a model (its manifest
renamed "planted") or a fake ONNX Runtime (which leaves a marker file when
loaded) where another user could have put it, and runs the Python binding
on that copy in a fresh process. A positive control in a safe layout shows
that each planted file would be found if the search were not guarded, so
every refusal below could have failed. Rules: src/trust.rs, RELIABILITY.md
"Security".
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import LIBRARY, MODEL_DIR, REPO, require

AS_ROOT = os.geteuid() == 0
NOBODY = 65534
ORT = REPO / "target" / "release" / "libonnxruntime.so.1"

DRIVER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import kse
kse.load_library(sys.argv[2])
try:
    enc = kse.Encoder(None if sys.argv[3] == "-" else sys.argv[3])
    print(json.dumps({"name": enc.name}))
except kse.KseError as e:
    print(json.dumps({"status": e.status.name, "message": e.message}))
"""

PLANTED_ORT = r"""
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
/* Leaves a marker when loaded, then looks like an ONNX Runtime that is too old. */
__attribute__((constructor)) static void planted(void) {
    const char *m = getenv("KSE_TEST_PLANTED_MARKER");
    FILE *f = m ? fopen(m, "w") : NULL;
    if (f) fclose(f);
}
typedef struct { const void *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); } OrtApiBase;
static const void *get_api(uint32_t v) { (void)v; return NULL; }
static const char *version(void) { return "1.20.0"; }
static const OrtApiBase base = {get_api, version};
const OrtApiBase *OrtGetApiBase(void) { return &base; }
"""


@pytest.fixture(scope="module")
def work():
    """Safe layouts live under target/: its own tree, nothing shared on the way."""
    require(LIBRARY, "libkse.so")
    require(ORT, "ONNX Runtime")
    root = REPO / "target" / "search-paths"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, mode=0o755)
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def shared_tmp():
    """A directory like /tmp: sticky and writable by every user."""
    top = Path(tempfile.mkdtemp(prefix="kse-search-"))
    shared = top / "tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    yield shared
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="module")
def planted_ort(work):
    src = work / "planted_ort.c"
    src.write_text(PLANTED_ORT)
    out = work / "planted_ort.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(out), str(src)], check=True)
    return out


def install_lib(dir: Path) -> Path:
    dir.mkdir(parents=True, exist_ok=True)
    lib = dir / "libkse.so"
    shutil.copy2(LIBRARY, lib)
    return lib


def plant_model(dir: Path, name: str = "planted") -> Path:
    """A model directory whose manifest is renamed; the big files are copied."""
    dir.mkdir(parents=True, exist_ok=True)
    for f in ("model.onnx", "tokenizer.json"):
        shutil.copy2(MODEL_DIR / f, dir / f)
    manifest = json.loads((MODEL_DIR / "kse.json").read_text(encoding="utf-8"))
    manifest["name"] = name
    (dir / "kse.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return dir


def give_away(path: Path) -> None:
    """Make `path` (and what is under it) something another user controls:
    theirs when we are root, else writable by everyone."""
    for p in [path, *path.rglob("*")]:
        if AS_ROOT:
            os.chown(p, NOBODY, NOBODY, follow_symlinks=False)
        else:
            os.chmod(p, os.stat(p).st_mode | stat.S_IWOTH)


def run(lib: Path, model: str = "-", *, env: dict | None = None, cwd: Path | None = None) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("KSE_MODEL_DIR", "KSE_ORT_LIBRARY", "LD_LIBRARY_PATH")}
    base.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, str(REPO / "bindings" / "python"), str(lib), model],
        env=base, cwd=cwd or "/", capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def with_ort(extra: dict | None = None) -> dict:
    return {"KSE_ORT_LIBRARY": str(ORT), **(extra or {})}


def test_installed_layout_finds_its_model(work):
    """The control: lib/libkse.so finds share/kse/models/kse-ko-small of its tree."""
    tree = work / "good"
    lib = install_lib(tree / "lib")
    plant_model(tree / "share" / "kse" / "models" / "kse-ko-small", "good")
    assert run(lib, env=with_ort()) == {"name": "good"}


@pytest.mark.parametrize("how", ["other user", "world-writable", "group-writable"])
def test_a_model_others_can_change_is_not_loaded(work, how):
    tree = work / f"bad-{how.replace(' ', '-')}"
    lib = install_lib(tree / "lib")
    models = tree / "share" / "kse" / "models"
    plant_model(models / "kse-ko-small")
    if how == "other user":
        give_away(models)
        expected = "belongs to another user" if AS_ROOT else "writable by every user"
    else:
        os.chmod(models, 0o777 if how == "world-writable" else 0o775)
        expected = "writable by every user" if how == "world-writable" else "writable by its group"
    got = run(lib, env=with_ort())
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert f"{models / 'kse-ko-small'} is not used" in got["message"] and expected in got["message"], got


def test_a_copy_in_a_temporary_directory_searches_nothing_beside_it(shared_tmp):
    """The extracted-jar case: libkse in a private directory under a /tmp-like
    directory; models planted around it are never looked at."""
    private = shared_tmp / "kse-extracted-x1y2"
    private.mkdir(mode=0o700)
    lib = install_lib(private)
    for where in (shared_tmp / "models", shared_tmp / "share" / "kse" / "models", private / "models"):
        plant_model(where / "kse-ko-small")
    got = run(lib, env=with_ort())
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert "no default model is searched beside kse's code" in got["message"], got
    assert "is in a temporary directory" in got["message"], got
    assert "planted" not in json.dumps(got)


def test_the_current_directory_is_never_searched(work):
    tree = work / "cwd"
    lib = install_lib(tree / "lib")
    here = tree / "elsewhere"
    plant_model(here / "models" / "kse-ko-small")
    plant_model(here / "share" / "kse" / "models" / "kse-ko-small")
    got = run(lib, env=with_ort(), cwd=here)
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert str(here) not in got["message"], got


def test_a_shipped_model_is_found_by_name_never_in_the_current_directory(work):
    """model_dir "kse-ko-mini" is the shipped model of libkse's own tree: not a
    directory of that name in the current directory, nor $KSE_MODEL_DIR."""
    tree = work / "named"
    lib = install_lib(tree / "lib")
    here = tree / "elsewhere"
    plant_model(here / "kse-ko-mini")
    env = with_ort({"KSE_MODEL_DIR": str(here / "kse-ko-mini")})
    got = run(lib, "kse-ko-mini", env=env, cwd=here)
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert "model kse-ko-mini was named" in got["message"], got
    assert f"{tree / 'share' / 'kse' / 'models' / 'kse-ko-mini'}" in got["message"], got
    assert "pass ./kse-ko-mini for a directory" in got["message"], got
    # The control: written as a path, the same directory loads.
    assert run(lib, "./kse-ko-mini", env=env, cwd=here) == {"name": "planted"}
    plant_model(tree / "share" / "kse" / "models" / "kse-ko-mini", "mini")
    assert run(lib, "kse-ko-mini", env=env, cwd=here) == {"name": "mini"}
    # Only the exact names are names: anything else stays a relative directory.
    got = run(lib, "kse-ko-min", env=env, cwd=here)
    assert got.get("status") == "MODEL_NOT_FOUND" and "was named" not in got["message"], got


def test_a_shipped_model_others_can_change_is_not_loaded(work):
    tree = work / "named-bad"
    lib = install_lib(tree / "lib")
    mini = plant_model(tree / "share" / "kse" / "models" / "kse-ko-mini")
    give_away(mini)
    got = run(lib, "kse-ko-mini", env=with_ort())
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert f"{mini} is not used" in got["message"], got


def test_kse_model_dir_must_not_be_changeable_by_others(shared_tmp):
    open_dir = plant_model(shared_tmp / "open-model")
    give_away(open_dir)
    got = run(install_lib(shared_tmp.parent / "lib"), env=with_ort({"KSE_MODEL_DIR": str(open_dir)}))
    assert got.get("status") == "MODEL_NOT_FOUND", got
    assert "other users can change" in got["message"], got
    # A private directory under the sticky /tmp-like one is fine: only its owner can touch it.
    mine = shared_tmp / "mine"
    mine.mkdir(mode=0o700)
    plant_model(mine / "model", "mine")
    assert run(shared_tmp.parent / "lib" / "libkse.so", env=with_ort({"KSE_MODEL_DIR": str(mine / "model")})) == {"name": "mine"}


@pytest.mark.parametrize("where", ["beside", "kse/"])
def test_onnx_runtime_others_can_change_is_not_loaded(work, planted_ort, tmp_path, where):
    """libkse looks for ONNX Runtime beside itself and in kse/ there; a
    planted one is loaded only where no other user could have put it (and
    never through an rpath of libkse's that would skip the check)."""
    marker = tmp_path / "loaded"
    env = {"KSE_TEST_PLANTED_MARKER": str(marker)}
    tree = work / f"ort-{where.strip('/')}"
    lib = install_lib(tree / "lib")
    planted = tree / "lib" / "kse" if where == "kse/" else tree / "lib"
    planted.mkdir(exist_ok=True)
    shutil.copy2(planted_ort, planted / "libonnxruntime.so.1")
    # Control: in a safe place the planted library is found (and refused as too old).
    got = run(lib, str(MODEL_DIR), env=env)
    assert marker.exists(), f"the planted library was not reached: {got}"
    assert got.get("status") == "RUNTIME_UNAVAILABLE", got
    marker.unlink()
    give_away(planted / "libonnxruntime.so.1")
    got = run(lib, str(MODEL_DIR), env=env)
    assert not marker.exists(), f"a library another user controls was loaded: {got}"
    assert f"{planted / 'libonnxruntime.so.1'} is not loaded" in got["message"], got
