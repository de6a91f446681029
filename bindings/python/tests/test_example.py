"""examples/python/similarity.py runs and prints the right matrix."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from support import BINDING, DEFAULT_MODEL, MODEL_DIR, REPO, clean_env, require

EXAMPLE = REPO / "examples" / "python" / "similarity.py"


def test_similarity_example(encoder, tmp_path):
    model = require(MODEL_DIR, "default model")
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), str(model)], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env=clean_env(PYTHONPATH=str(BINDING)),
    )
    assert out.returncode == 0, out.stderr
    print(out.stdout)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("model kse-ko-small (kse 0.2.0), 384-d, ")
    rows = np.array([[float(x) for x in re.findall(r"-?\d+\.\d+", l)] for l in lines if l.startswith("[")])
    assert rows.shape == (4, 4)
    for i in range(4):
        assert rows[i].argmax() == i, f"row {i}: the paraphrase is not the most similar: {rows[i]}"
    # The same numbers as encoding here.
    sys.path.insert(0, str(EXAMPLE.parent))
    import similarity

    v = encoder.encode(similarity.GROUP_1 + similarity.GROUP_2).astype(np.float64)
    np.testing.assert_allclose(rows, v[:4] @ v[4:].T, atol=2e-6)
    # A bad model directory is reported, not a traceback.
    bad = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "missing")], capture_output=True, text=True,
        timeout=120, env=clean_env(PYTHONPATH=str(BINDING)),
    )
    assert bad.returncode == 1 and "KSE_ERR_MODEL_NOT_FOUND" in bad.stderr and "Traceback" not in bad.stderr


def test_similarity_example_without_a_model_dir(tmp_path):
    """No argument and no $KSE_MODEL_DIR: libkse's default model, from any
    working directory."""
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env=clean_env(PYTHONPATH=str(BINDING)),
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"model {DEFAULT_MODEL} (kse 0.2.0), 384-d, "), lines[0]
    assert len([l for l in lines if l.startswith("[")]) == 4
    # $KSE_MODEL_DIR naming a missing directory: the error names it.
    missing = tmp_path / "no-such-model"
    bad = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env=clean_env(PYTHONPATH=str(BINDING), KSE_MODEL_DIR=str(missing)),
    )
    assert bad.returncode == 1 and "KSE_ERR_MODEL_NOT_FOUND" in bad.stderr and str(missing) in bad.stderr, bad.stderr
