import copy

import pytest
import torch

from lantern.optimize import prepack
from lantern.optimize.prepack import packed_weight, prepack_convolutions

pytestmark = pytest.mark.skipif(not prepack.available(), reason="oneDNN packed convolution not in this torch build")


def _net(dtype):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.SiLU(),
                              torch.nn.Conv2d(32, 32, 1), torch.nn.Conv2d(32, 8, 3, stride=2, padding=1))
    return net.to(dtype).eval().to(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_same_result_as_the_plain_layers_at_several_sizes(dtype):
    plain = _net(dtype)
    packed = copy.deepcopy(plain)
    made = prepack_convolutions(packed)
    assert made == sum(m.weight.numel() * m.weight.element_size() for m in packed if isinstance(m, torch.nn.Conv2d))
    assert type(packed[0]).__name__ == "PrepackedConv2d" and isinstance(packed[0], torch.nn.Conv2d)
    assert list(packed.state_dict()) == list(plain.state_dict())
    for shape in ((1, 16, 8, 8), (2, 16, 20, 12), (4, 16, 33, 33)):
        x = torch.randn(shape).to(dtype).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            ref, out = plain(x), packed(x)
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-2 if dtype == torch.bfloat16 else 1e-5, atol=1e-5)


def test_inplace_weight_change_repacks_and_copies_pack_their_own():
    net = _net(torch.float32)
    prepack_convolutions(net)
    first = packed_weight(net[0])
    assert packed_weight(net[0]) is first  # cached
    with torch.no_grad():
        net[0].weight.mul_(2.0)
    assert packed_weight(net[0]) is not first
    twin = copy.deepcopy(net)
    assert packed_weight(twin[0]) is not packed_weight(net[0])
    x = torch.randn(1, 16, 8, 8).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(twin(x), net(x))


def test_autograd_and_mismatched_dtype_fall_back_to_the_layer():
    net = _net(torch.float32)
    prepack_convolutions(net)
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    net(x).sum().backward()  # the packed op has no autograd: the plain path must have run
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(RuntimeError):  # a dtype the layer itself refuses is refused the same way
        with torch.no_grad():
            net(torch.randn(1, 16, 8, 8, dtype=torch.float64))


def test_only_named_layers_are_switched():
    net = _net(torch.float32)
    prepack_convolutions(net, names={"2"})
    assert type(net[2]).__name__ == "PrepackedConv2d" and type(net[0]) is torch.nn.Conv2d
