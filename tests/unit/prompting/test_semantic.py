import numpy as np
import pytest

from lantern import semantic


@pytest.fixture(scope="module")
def minilm():
    if not semantic.available():
        pytest.skip(f"MiniLM not installed: {semantic.unavailable_reason()}")
    return semantic


def test_embed_shape_norm_dtype(minilm):
    e = minilm.embed(["a red kite over a green field", "night city in the rain", ""])
    assert e.shape == (3, semantic.DIM)
    assert e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_similarity_is_semantic(minilm):
    assert minilm.similarity("a cat", "a kitten") > minilm.similarity("a cat", "a skyscraper") + 0.2
    m = minilm.similarity(["watercolor painting", "oil painting"], ["aquarelle illustration", "a car engine"])
    assert m.shape == (2, 2)
    assert m[0, 0] > m[0, 1] and m[1, 0] > m[1, 1]


def test_cache_returns_same_vectors(minilm):
    a = minilm.embed(["lantern lights at dusk"])
    b = minilm.embed(["lantern lights at dusk", "other"])
    np.testing.assert_array_equal(a[0], b[0])


def test_fallback_when_disabled(monkeypatch):
    monkeypatch.setenv(semantic.ENV_DISABLE, "1")
    semantic._reset_for_tests()
    try:
        assert semantic.available() is False
        assert semantic.ENV_DISABLE in semantic.unavailable_reason()
        with pytest.raises(RuntimeError, match="unavailable"):
            semantic.embed(["x"])
    finally:
        monkeypatch.delenv(semantic.ENV_DISABLE)
        semantic._reset_for_tests()


def test_missing_wheel_reports_pip_name(monkeypatch, tmp_path):
    monkeypatch.setenv(semantic.ENV_OVERRIDE, str(tmp_path))  # empty folder: no config.json
    semantic._reset_for_tests()
    try:
        assert semantic.available() is False
        assert semantic.PIP_NAME in semantic.unavailable_reason()
    finally:
        monkeypatch.delenv(semantic.ENV_OVERRIDE)
        semantic._reset_for_tests()
