import pytest
import torch

from lantern.optimize.metrics import rel_error
from lantern.optimize.prune import fix_channel_attributes, heal, prune_structured, prune_unstructured

pytest.importorskip("torch_pruning")


def fwd(model, batch):
    return model(*batch)


def test_structured_prune_removes_real_channels(tiny, tiny_input):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    res = prune_structured(tiny, tiny_input, ratio=0.25, forward_fn=fwd, ignored=("conv_out",))
    m = res.module
    # real tensors removed: conv widths shrink, coupled norm/skip/linear follow, the edge layers keep their shape
    assert m.block1.conv1.out_channels == 24
    assert m.block2.norm.num_channels == m.block1.conv2.out_channels == m.down.op.out_channels
    assert m.mix.in_features == m.mix.out_features == m.block2.conv2.out_channels < 64
    assert m.conv_out.out_channels == 4 and m.conv_in.in_channels == 4
    assert m.down.channels == m.down.op.in_channels  # stale block attribute re-synced
    assert res.params_after < 0.7 * res.params_before
    assert res.macs_after < res.macs_before
    with torch.no_grad():
        out = m(*tiny_input)
    assert out.shape == tiny(*tiny_input).shape and torch.isfinite(out).all()
    # the input model is untouched
    assert tiny.block1.conv1.out_channels == 32
    for k, v in tiny.state_dict().items():
        assert torch.equal(v, before[k])
    assert "parameters" in res.summary()


def test_ratio_bounds():
    with pytest.raises(ValueError, match="ratio"):
        prune_structured(torch.nn.Linear(2, 2), torch.ones(1, 2), ratio=0.6)
    with pytest.raises(ValueError, match="ratio"):
        prune_unstructured(torch.nn.Linear(2, 2), ratio=-0.1)


def test_unstructured_zeroes_without_shrinking(tiny, tiny_input):
    res = prune_unstructured(tiny, ratio=0.3)
    w = res.module.block1.conv2.weight
    frac = float((w == 0).float().mean())
    assert 0.28 <= frac <= 0.32
    assert res.params_after == res.params_before
    assert "do not change" in res.notes[0]
    assert float((tiny.block1.conv2.weight == 0).float().mean()) == 0.0


def test_fix_channel_attributes_counts_changes(tiny):
    tiny.down.channels = 99
    assert fix_channel_attributes(tiny) == 1
    assert tiny.down.channels == 32
    assert fix_channel_attributes(tiny) == 0


def test_heal_reduces_error(tiny, tiny_input):
    torch.manual_seed(0)
    res = prune_structured(tiny, tiny_input, ratio=0.25, forward_fn=fwd, ignored=("conv_out",), count_ops=False)
    seen = []

    def make(g):
        return torch.randn(4, 4, 16, 16, generator=g), torch.randn(4, 8, generator=g)

    out = heal(res.module, tiny, make, fwd, steps=60, lr=3e-3, progress=lambda s, n, loss: seen.append(s))
    assert seen == list(range(1, 61))
    assert out.error_after < 0.6 * out.error_before
    with torch.no_grad():
        assert rel_error(res.module(*tiny_input), tiny(*tiny_input)) < out.error_before
    assert not any(p.requires_grad for p in res.module.parameters())


def test_prune_and_heal_work_inside_inference_mode(tiny, tiny_input):
    """ComfyUI executes nodes under torch.inference_mode(); both passes must step out of it."""
    with torch.inference_mode():
        teacher = TinyNetCopy(tiny)
        res = prune_structured(teacher, tiny_input, ratio=0.25, forward_fn=fwd, ignored=("conv_out",),
                               count_ops=False)

        def make(g):
            return torch.randn(2, 4, 16, 16, generator=g), torch.randn(2, 8, generator=g)

        out = heal(res.module, teacher, make, fwd, steps=3, lr=1e-3)
    assert out.steps == 3 and out.error_after != out.error_before


def TinyNetCopy(model):
    """A copy whose tensors are inference tensors, like weights ComfyUI loads inside a node."""
    import copy
    m = copy.deepcopy(model)
    for mod in m.modules():
        for name, p in list(mod.named_parameters(recurse=False)):
            setattr(mod, name, torch.nn.Parameter(p.detach().clone(), requires_grad=False))
    assert next(m.parameters()).is_inference()
    return m


def test_count_macs_by_hand():
    from lantern.optimize.prune import count_macs

    class SubConv(torch.nn.Conv2d):  # like ComfyUI's ops classes
        pass

    m = torch.nn.Sequential(SubConv(3, 8, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 5))
    macs, params = count_macs(m, torch.ones(2, 3, 4, 4))
    assert macs == 2 * 8 * 4 * 4 * 3 * 9 + 2 * 5 * 128
    assert params == sum(p.numel() for p in m.parameters())
