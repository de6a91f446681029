"""kse.Encoder() without a model directory: libkse's default model
(kse-ko-small), found through $KSE_MODEL_DIR or beside libkse."""

from __future__ import annotations

import numpy as np
import pytest

from support import DEFAULT_MODEL, LIBRARY, REPO, require


def test_no_model_dir_loads_the_default_model(kse, monkeypatch):
    monkeypatch.delenv("KSE_MODEL_DIR", raising=False)
    with kse.Encoder() as enc:
        assert enc.name == DEFAULT_MODEL
        assert (enc.dim, enc.max_tokens) == (384, 512)
        assert enc.model_dir is None and "model_dir=None" in repr(enc)
        v = enc.encode(["한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다."])
    assert v.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    if LIBRARY.resolve() == (REPO / "target" / "release" / "libkse.so").resolve():
        # The build tree's libkse finds the build tree's model.
        with kse.Encoder(require(REPO / "models" / DEFAULT_MODEL, "default model")) as named:
            assert named.name == DEFAULT_MODEL
            np.testing.assert_allclose(named.encode(["한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다."]), v, atol=1e-6)
    with kse.Encoder(None, sessions=2) as enc:  # the keyword-only options still apply
        assert enc.name == DEFAULT_MODEL


def test_kse_model_dir_names_the_default_model(kse, monkeypatch, tmp_path):
    missing = tmp_path / "no-such-model"
    monkeypatch.setenv("KSE_MODEL_DIR", str(missing))
    with pytest.raises(kse.ModelNotFoundError) as info:
        kse.Encoder()
    e = info.value
    assert e.status == kse.Status.MODEL_NOT_FOUND and e.name == "KSE_ERR_MODEL_NOT_FOUND"
    assert str(missing) in e.message, e.message
