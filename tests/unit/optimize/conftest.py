import pytest
import torch
from torch import nn

# tiny models: one thread avoids OpenMP spin-waiting on a shared 2-core machine
torch.set_num_threads(1)


class Down(nn.Module):
    """Like ComfyUI's Downsample: remembers its channel count and asserts on it."""

    def __init__(self, ch):
        super().__init__()
        self.channels = ch
        self.out_channels = ch
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        assert x.shape[1] == self.channels
        return self.op(x)


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm = nn.GroupNorm(4, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.conv1(torch.nn.functional.silu(self.norm(x)))
        return self.skip(x) + self.conv2(torch.nn.functional.silu(h))


class TinyNet(nn.Module):
    """A small conv + linear network with the pieces the passes care about (norms, skips, a down block)."""

    def __init__(self, ch=32):
        super().__init__()
        self.conv_in = nn.Conv2d(4, ch, 3, padding=1)
        self.block1 = Block(ch, ch)
        self.down = Down(ch)
        self.block2 = Block(ch, 2 * ch)
        self.time_embed = nn.Linear(8, 2 * ch)
        self.mix = nn.Linear(2 * ch, 2 * ch)
        self.norm_out = nn.GroupNorm(4, 2 * ch)
        self.conv_out = nn.Conv2d(2 * ch, 4, 3, padding=1)

    def forward(self, x, t=None):
        h = self.block2(self.down(self.block1(self.conv_in(x))))
        if t is not None:
            h = h + self.time_embed(t)[:, :, None, None]
        h = self.mix(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.conv_out(torch.nn.functional.silu(self.norm_out(h)))


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return TinyNet().eval()


@pytest.fixture
def tiny_input():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 4, 16, 16, generator=g), torch.randn(2, 8, generator=g)
