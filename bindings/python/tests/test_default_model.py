"""kse.Encoder() without a model directory: libkse's default model
(kse-ko-small), found through $KSE_MODEL_DIR or beside libkse; and a shipped
model's name ("kse-ko-mini"), found beside libkse only."""

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


SENTENCES = ["한 남자가 기타를 치고 있다.", "남자가 기타를 연주한다.", "고양이가 창가에서 잠을 잔다."]


def test_a_shipped_models_name_loads_it_from_beside_libkse(kse, encoder, monkeypatch, tmp_path):
    """"kse-ko-mini" is models/kse-ko-mini of the tree libkse sits in: not a
    directory of that name in the current directory, nor $KSE_MODEL_DIR."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kse-ko-mini").mkdir()  # an empty directory of the name: never taken for the model
    monkeypatch.setenv("KSE_MODEL_DIR", str(tmp_path / "kse-ko-mini"))
    with kse.Encoder("kse-ko-mini") as enc:
        assert enc.name == "kse-ko-mini" and enc.model_dir == "kse-ko-mini"
        assert enc.dim == 384
        v = enc.encode(SENTENCES)
    assert not np.array_equal(v, encoder.encode(SENTENCES)), "kse-ko-mini gave the default model's vectors"
    if LIBRARY.resolve() == (REPO / "target" / "release" / "libkse.so").resolve():
        mini = (REPO / "models" / "kse-ko-mini").resolve()  # committed
        with kse.Encoder(mini) as named:
            assert named.name == "kse-ko-mini"
            assert np.array_equal(named.encode(SENTENCES), v)
    # Written as a path, the name is the (empty) directory here.
    with pytest.raises(kse.ModelNotFoundError):
        kse.Encoder("./kse-ko-mini")
