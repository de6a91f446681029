"""Fixtures: the source-tree package (bindings/python/kse) on the source-tree
library, one shared encoder per test model."""

from __future__ import annotations

import pytest

from support import LIBRARY, MODEL_DIR, require, tiny


@pytest.fixture(scope="session")
def kse():
    import kse as module

    require(LIBRARY, "libkse.so")
    module.load_library(LIBRARY)
    return module


@pytest.fixture(scope="session")
def encoder(kse):
    """The default model, two sessions so threads really run in parallel."""
    with kse.Encoder(require(MODEL_DIR, "default model"), sessions=2) as enc:
        yield enc


@pytest.fixture(scope="session")
def tiny_encoder(kse):
    with kse.Encoder(tiny(), sessions=2) as enc:
        yield enc
