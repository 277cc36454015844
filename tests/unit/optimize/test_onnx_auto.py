import time

import pytest
import torch

from lantern.optimize.attention import sdpa_attention, sdpa_override
from lantern.optimize.auto import Candidate, DecisionCache, auto_optimize, decision_key
from lantern.optimize.metrics import max_rel_diff

ort = pytest.importorskip("onnxruntime")


class Wrap(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, t):
        return self.m(x, t)


def _export(tiny, tmp_path, key=None):
    from lantern.optimize.onnx_rt import cache_key, export_onnx, make_session, tensor_fingerprint
    key = key or cache_key(tensor_fingerprint(tiny), {"opset": 17}, {"c": 4})
    ex = (torch.randn(1, 4, 16, 16), torch.randn(1, 8))
    dyn = {"x": {0: "b", 2: "h", 3: "w"}, "t": {0: "b"}, "out": {0: "b", 2: "h", 3: "w"}}
    info = export_onnx(Wrap(tiny), ex, ["x", "t"], dyn, tmp_path, key)
    return info, make_session(info.path, "cpu")


def test_onnx_matches_torch_and_caches(tiny, tmp_path):
    from lantern.optimize.onnx_rt import OrtModule
    info, sess = _export(tiny, tmp_path)
    assert info.exported and info.path.is_file() and info.bytes > 0
    m = OrtModule(sess, ["x", "t"])
    for shape in [(2, 4, 16, 16), (3, 4, 24, 32)]:  # dynamic batch and size: no re-export
        x, t = torch.randn(*shape), torch.randn(shape[0], 8)
        with torch.no_grad():
            ref = tiny(x, t)
        out = m(x, t)
        assert out.shape == ref.shape and torch.isfinite(out).all()
        assert max_rel_diff(out, ref) <= 1e-3
    info2, _ = _export(tiny, tmp_path)
    assert not info2.exported and info2.path == info.path
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 1


def test_fingerprint_follows_weights(tiny):
    from lantern.optimize.onnx_rt import tensor_fingerprint
    a = tensor_fingerprint(tiny)
    assert a == tensor_fingerprint(tiny)
    with torch.no_grad():
        tiny.block1.conv1.weight[0, 0, 0, 0] += 0.5
    assert tensor_fingerprint(tiny) != a


def test_provider_choice_errors():
    from lantern.optimize.onnx_rt import choose_providers
    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    assert choose_providers("auto")[-1] == "CPUExecutionProvider"
    with pytest.raises(ValueError, match="provider"):
        choose_providers("vulkan")
    if "TensorrtExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(ValueError, match="onnxruntime-gpu"):
            choose_providers("tensorrt")


def test_sdpa_matches_naive_attention():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 10, 16, generator=g) for _ in range(3))
    heads = 4
    out = sdpa_override(None, q, k, v, heads, transformer_options={}, _inside_attn_wrapper=True)
    qh, kh, vh = (t.reshape(2, -1, heads, 4).transpose(1, 2) for t in (q, k, v))
    att = torch.softmax(qh @ kh.transpose(-1, -2) / 2.0, dim=-1) @ vh
    assert torch.allclose(out, att.transpose(1, 2).reshape(2, 10, 16), atol=1e-5)
    assert sdpa_attention(qh, kh, vh, heads, skip_reshape=True, skip_output_reshape=True).shape == (2, 4, 10, 4)


def _cand(name, delay, noise):
    def build():
        def step(batch):
            time.sleep(delay)
            return batch[0] * (1 + noise)
        return step
    return Candidate(name, build)


def test_auto_picks_fastest_within_bound_and_caches(tmp_path):
    batch = (torch.randn(64),)
    ref = _cand("fp32", 0.06, 0.0)
    cands = [_cand("fast-but-wrong", 0.0, 0.05), _cand("quick", 0.02, 0.004), _cand("slow", 0.09, 0.0),
             Candidate("broken", lambda: (_ for _ in ()).throw(RuntimeError("no kernel")))]
    cache = DecisionCache(tmp_path / "auto.json")
    key = decision_key("fp", [64], 0.01, [c.name for c in cands])
    dec = auto_optimize(ref, cands, batch, key, cache=cache)
    assert dec.choice == "quick" and dec.speedup > 1.5 and not dec.cached
    by = {t.name: t for t in dec.trials}
    assert not by["fast-but-wrong"].ok and "above" in by["fast-but-wrong"].reason
    assert not by["broken"].ok and "no kernel" in by["broken"].reason
    assert by["slow"].ok and "chosen" in by["quick"].reason
    again = auto_optimize(ref, [_cand("quick", 5.0, 0.0)], batch, key, cache=cache)  # cached: nothing measured
    assert again.cached and again.choice == "quick"
    assert "chose quick" in again.explain()
    assert decision_key("fp", [64], 0.01, ["a"]) != decision_key("fp", [32], 0.01, ["a"])
