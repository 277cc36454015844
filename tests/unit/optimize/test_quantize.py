import json
from pathlib import Path

import pytest
import torch

from lantern.optimize.metrics import rel_error
from lantern.optimize.quantize import (DEFAULT_KEEP, load_quantized, parse_keep, quantize_weights, read_metadata,
                                       save_quantized, select_layers)
from lantern.optimize.report import build_report

pytest.importorskip("optimum.quanto")
from optimum.quanto import QConv2d, QLinear  # noqa: E402


def _weights_bytes(m):
    return build_report(m).weight_bytes


def test_int8_quantises_linear_and_conv_and_keeps_edges(tiny, tiny_input):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    res = quantize_weights(tiny, "int8")
    q = res.module
    assert isinstance(q.block1.conv1, QConv2d) and isinstance(q.mix, QLinear)
    # first and last convs, the time embedding and norms stay full precision
    assert type(q.conv_in) is torch.nn.Conv2d and type(q.conv_out) is torch.nn.Conv2d
    assert type(q.time_embed) is torch.nn.Linear
    assert {"conv_in", "conv_out", "time_embed"} <= set(res.kept)
    assert "block1.conv1" in res.quantized
    # the input model is untouched
    assert type(tiny.block1.conv1) is torch.nn.Conv2d
    for k, v in tiny.state_dict().items():
        assert torch.equal(v, before[k])
    with torch.no_grad():
        err = rel_error(q(*tiny_input), tiny(*tiny_input))
    assert 0 < err < 0.02


def test_bytes_shrink_int8_then_int4(tiny):
    fp32 = _weights_bytes(tiny)
    b8 = _weights_bytes(quantize_weights(tiny, "int8", keep=[], keep_first_last=False).module)
    b4 = _weights_bytes(quantize_weights(tiny, "int4", keep=[], keep_first_last=False).module)
    assert b8 < 0.40 * fp32
    assert b4 < b8


def test_fp8_and_bf16_compute(tiny, tiny_input):
    res = quantize_weights(tiny, "fp8", compute_dtype="bf16")
    x, t = tiny_input
    with torch.no_grad():
        out = res.module(x.bfloat16(), t.bfloat16())
        ref = tiny(x, t)
    assert out.dtype == torch.bfloat16
    assert rel_error(out, ref) < 0.08


def test_save_load_round_trip_is_safetensors(tiny, tiny_input, tmp_path):
    res = quantize_weights(tiny, "int8")
    path = save_quantized(res, tmp_path / "q.safetensors", extra={"source": "tiny"})
    raw = Path(path).read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    assert header["__metadata__"]["format"] == "lantern-quanto-v1"
    qmap = json.loads(header["__metadata__"]["quantization_map"])
    assert qmap["block1.conv1"] == {"weights": "qint8", "activations": "none"}
    assert "conv_in" not in qmap
    assert read_metadata(path)["source"] == "tiny"
    loaded = load_quantized(tiny, path)
    assert isinstance(loaded.block1.conv1, QConv2d)
    with torch.no_grad():
        assert torch.equal(loaded(*tiny_input), res.module(*tiny_input))
    assert not list(tmp_path.glob("*.tmp"))


def test_load_refuses_foreign_file(tiny, tmp_path):
    from safetensors.torch import save_file
    save_file({"w": torch.zeros(2)}, str(tmp_path / "x.safetensors"))
    with pytest.raises(ValueError, match="not a Lantern quantised-weights file"):
        load_quantized(tiny, tmp_path / "x.safetensors")


def test_bad_options_name_the_input(tiny):
    with pytest.raises(ValueError, match="weights: unknown"):
        quantize_weights(tiny, "int3")
    with pytest.raises(ValueError, match="compute_dtype"):
        quantize_weights(tiny, "int8", compute_dtype="fp64")
    with pytest.raises(ValueError, match="keep"):
        quantize_weights(tiny, "int8", keep=["*"])


def test_keep_list_parsing_and_selection(tiny):
    assert parse_keep(" a.b , *norm*\nc ,,") == ["a.b", "*norm*", "c"]
    quant, kept = select_layers(tiny, ["block2.*"], keep_first_last=False)
    assert all(n.startswith("block2.") for n in kept) and kept
    assert "conv_in" in quant and "conv_out" in quant
    assert "*norm*" in DEFAULT_KEEP


def test_dtype_speed_ratio_is_a_positive_timing_ratio():
    # fp32 against itself: a ratio near 1 (wide band: timings on a shared CPU are noisy). The bf16 ratio varies from
    # ~0.4 (native bf16) to >100 (emulated) between CPUs, so no bound on it would hold everywhere.
    from lantern.optimize.quantize import dtype_speed_ratio
    r = dtype_speed_ratio(torch.float32)
    assert 0.1 < r < 10
