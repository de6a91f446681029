"""Where the library looks for ONNX Runtime, and the INT4 model variant."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np

from conftest import E5_DIR, INT4_DIR, LIBRARY, REPO, TEST_MODELS, require


def test_missing_runtime_is_a_status_that_says_where_it_looked(tmp_path):
    # libkse.so alone in a folder, no ONNX Runtime beside it or in the environment.
    lonely = tmp_path / "libkse.so"
    shutil.copy(require(LIBRARY, "libkse.so"), lonely)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO / 'bindings' / 'python')!r})
        import kse
        kse.load_library({str(lonely)!r})
        try:
            kse.Encoder({str(TEST_MODELS / 'tiny-e5')!r})
        except kse.KseError as e:
            print(e.name)
            print(e.message)
        else:
            print("loaded")
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KSE_ORT_LIBRARY", "ORT_DYLIB_PATH", "LD_LIBRARY_PATH")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    name, message = out.stdout.splitlines()[:2]
    assert name == "KSE_ERR_RUNTIME_UNAVAILABLE", out.stdout
    assert str(tmp_path / "libonnxruntime.so.1") in message, message


def test_int4_model_gives_the_fp32_vectors(dev_sentences):
    import kse

    with kse.Encoder(require(E5_DIR, "e5-small fp32 model (make setup-dev)"), intra_threads=2) as fp32, \
            kse.Encoder(require(INT4_DIR, "INT4 model (make setup-dev)"), intra_threads=2) as int4:
        assert int4.dim == fp32.dim
        want = fp32.encode(dev_sentences[:200])
        got = int4.encode(dev_sentences[:200])
    diff = np.abs(got - want).max()
    assert diff <= 1e-4, f"INT4 vs fp32 through the library: max abs difference {diff}"
