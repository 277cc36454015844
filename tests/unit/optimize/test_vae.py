import pytest
import torch
from torch import nn

from lantern.optimize.auto import auto_optimize
from lantern.optimize.vae import (channels_last_convolutions, decode_candidates, describe, is_channels_last,
                                  vae_variant)


class TinyAutoencoder(nn.Module):
    """Shaped like an SD VAE's decode path: latent (4 ch) -> conv -> norm/act -> upsample -> conv -> RGB."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.post_quant_conv = nn.Conv2d(4, 4, 1)
        self.conv_in = nn.Conv2d(4, 32, 3, padding=1)
        self.norm = nn.GroupNorm(8, 32)
        self.conv_up = nn.Conv2d(32, 16, 3, padding=1)
        self.conv_out = nn.Conv2d(16, 3, 3, padding=1)
        for p in self.parameters():
            p.data = torch.randn(p.shape, generator=g) * 0.2

    def decode(self, z):
        h = self.conv_in(self.post_quant_conv(z))
        h = nn.functional.silu(self.norm(h))
        h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        return self.conv_out(nn.functional.silu(self.conv_up(h)))


class VideoAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv3d = nn.Conv3d(4, 8, 3, padding=1)
        self.conv2d = nn.Conv2d(8, 3, 1)


def _latent():
    return torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(1))


def test_variant_is_a_copy_in_the_dtype_with_channels_last_weights():
    base = TinyAutoencoder()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    fast = vae_variant(base, torch.bfloat16)
    assert {p.dtype for p in fast.parameters()} == {torch.bfloat16}
    assert is_channels_last(fast) and not is_channels_last(base)
    assert list(fast.state_dict()) == list(base.state_dict())  # names unchanged
    for k, v in base.state_dict().items():  # the input is untouched
        assert v.dtype == torch.float32 and torch.equal(v, before[k])
    assert describe(fast) == "bf16, convolution weights channels-last"
    assert describe(base) == "fp32, convolution weights contiguous (NCHW)"


def test_channels_last_fp32_decodes_the_same_values():
    base = TinyAutoencoder()
    fast = vae_variant(base, torch.float32)
    z = _latent()
    with torch.no_grad():
        torch.testing.assert_close(fast.decode(z), base.decode(z), rtol=1e-5, atol=1e-5)


def test_bf16_decode_is_close_but_not_equal():
    base = TinyAutoencoder()
    fast = vae_variant(base, torch.bfloat16, channels_last=False)
    z = _latent()
    with torch.no_grad():
        ref, out = base.decode(z), fast.decode(z.to(torch.bfloat16)).float()
    err = ((out - ref).norm() / ref.norm()).item()
    assert 0 < err < 0.03


def test_channels_last_leaves_5d_weights_alone():
    m = VideoAutoencoder()
    assert channels_last_convolutions(m) == 1
    assert m.conv2d.weight.is_contiguous(memory_format=torch.channels_last)
    assert m.conv3d.weight.is_contiguous()


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="VAE precision must be one of"):
        vae_variant(TinyAutoencoder(), torch.int8)


def test_candidates_measure_against_the_loaded_module_and_keep_what_they_built():
    base = TinyAutoencoder()
    built = {}
    ref, cands = decode_candidates(base, torch.float32, [torch.bfloat16], built)
    assert ref.name == "fp32 (as loaded)"
    assert [c.name for c in cands] == ["fp32+channels-last", "bf16+channels-last"]
    dec = auto_optimize(ref, cands, (_latent(),), key="k", bound=0.03)
    assert {t.name for t in dec.trials} == {"fp32 (as loaded)", "fp32+channels-last", "bf16+channels-last"}
    assert set(built) == {"fp32+channels-last", "bf16+channels-last"}
    assert built["bf16+channels-last"][1] == torch.bfloat16
    by_name = {t.name: t for t in dec.trials}
    assert by_name["fp32+channels-last"].rel_error < 1e-5
    assert 0 < by_name["bf16+channels-last"].rel_error < 0.03
    # a bound below bf16's error rules it out whatever the timings
    dec = auto_optimize(ref, cands, (_latent(),), key="k2", bound=1e-4)
    assert dec.choice in {"fp32 (as loaded)", "fp32+channels-last"}
    assert "above the" in {t.name: t for t in dec.trials}["bf16+channels-last"].reason


def test_loaded_dtype_is_not_tried_twice():
    ref, cands = decode_candidates(TinyAutoencoder(), torch.bfloat16, [torch.bfloat16], {})
    assert ref.name == "bf16 (as loaded)" and [c.name for c in cands] == ["bf16+channels-last"]

