import copy

import pytest
import torch

from lantern.optimize.metrics import rel_error
from lantern.optimize.precision import mixed_precision
from lantern.optimize.quantize import cast_module

KEEP = ("conv_in", "conv_out", "time_embed", "*skip")


def test_low_layers_in_bf16_sensitive_and_stream_in_fp32(tiny, tiny_input):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    m = mixed_precision(tiny, "bf16", keep=KEEP)
    assert m.block1.conv1.weight.dtype == torch.bfloat16 and m.mix.weight.dtype == torch.bfloat16
    for name in ("conv_in", "conv_out", "time_embed", "block2.skip"):
        assert m.get_submodule(name).weight.dtype == torch.float32, name
    assert m.norm_out.weight.dtype == torch.float32
    assert set(m.lantern_low_layers) == {"block1.conv1", "block1.conv2", "down.op", "block2.conv1", "block2.conv2",
                                         "mix"}
    # same module names and shapes: state-dict keys (and so LoRA keys) still match the original
    assert list(m.state_dict()) == list(tiny.state_dict())
    # the input model is untouched
    for k, v in tiny.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, before[k])
    x, t = tiny_input
    with torch.no_grad():
        out = m(x, t)
    assert out.dtype == torch.float32  # the stream comes back in fp32
    from lantern.optimize import prepack
    if prepack.available():  # the low convolutions run on prepacked weights, counted as extra bytes
        assert type(m.block1.conv1).__name__ == "PrepackedConv2d" and type(m.conv_in) is torch.nn.Conv2d
        low_conv_bytes = sum(m.get_submodule(n).weight.numel() * 2 for n in m.lantern_low_layers if n != "mix")
        assert m.lantern_external_bytes == {"bf16 prepacked (oneDNN)": low_conv_bytes}


def test_error_between_fp32_and_plain_bf16(tiny, tiny_input):
    x, t = tiny_input
    with torch.no_grad():
        ref = tiny(x, t)
        mixed = rel_error(mixed_precision(tiny, "bf16", keep=KEEP)(x, t), ref)
        plain = rel_error(cast_module(copy.deepcopy(tiny), torch.bfloat16)(x.bfloat16(), t.bfloat16()), ref)
    assert 0 < mixed < plain < 0.05


def test_channels_last_on_cpu_by_default(tiny):
    m = mixed_precision(tiny, "bf16", keep=KEEP)
    assert m.block1.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    m2 = mixed_precision(tiny, "bf16", keep=KEEP, channels_last=False)
    assert m2.block1.conv1.weight.is_contiguous()


def test_bad_options_name_the_problem(tiny):
    with pytest.raises(ValueError, match="must be one of"):
        mixed_precision(tiny, "int8")
    with pytest.raises(ValueError, match="keep-list"):
        mixed_precision(tiny, "bf16", keep=("*",))


class _Attention(torch.nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.to_q, self.to_k, self.to_v = (torch.nn.Linear(d, d, bias=False) for _ in range(3))
        self.to_out = torch.nn.Linear(d, d)

    def forward(self, x):
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        self.seen = (q.dtype, k.dtype, v.dtype)
        return x + self.to_out(torch.nn.functional.scaled_dot_product_attention(q, k, v))


def test_attention_runs_in_the_low_dtype_unless_a_projection_is_kept():
    torch.manual_seed(0)
    att, x = _Attention().eval(), torch.randn(2, 5, 16)
    m = mixed_precision(att, "bf16", keep=())
    with torch.no_grad():
        out = m(x)
    assert m.seen == (torch.bfloat16,) * 3 and out.dtype == torch.float32
    assert rel_error(out, att(x)) < 0.02
    kept_k = mixed_precision(att, "bf16", keep=("to_k",))
    with torch.no_grad():
        kept_k(x)  # q and v come back in fp32 too: no dtype mix inside the attention
    assert kept_k.seen == (torch.float32,) * 3


def test_default_keep_follows_unet_names_and_widths():
    from lantern.optimize.precision import default_keep
    conv = torch.nn.Conv2d

    class Res(torch.nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.in_layers = torch.nn.Sequential(conv(cin, cout, 3))
            self.emb_layers = torch.nn.Sequential(torch.nn.Linear(8, cout))
            self.skip_connection = conv(cin, cout, 1)

    class Unet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.input_blocks = torch.nn.ModuleList([torch.nn.Sequential(conv(4, 8, 3)),
                                                     torch.nn.Sequential(Res(8, 16)), torch.nn.Sequential(Res(16, 32))])
            self.time_embed = torch.nn.Sequential(torch.nn.Linear(8, 8))
            self.out = torch.nn.Sequential(torch.nn.GroupNorm(1, 32), conv(32, 4, 3))

    keep = default_keep(Unet())
    assert keep == ["input_blocks.0.0", "input_blocks.1.0.emb_layers.0", "input_blocks.1.0.skip_connection",
                    "input_blocks.2.0.emb_layers.0", "time_embed.0", "out.1"]
    # the 32-wide skip (4x the first conv's 8) and every 3x3 conv inside the blocks run in the low dtype
