import json
import os

import pytest
import torch
from hypothesis import given, settings, strategies as st

from lantern.export.formats import VideoFormat, format_names, get_format
from lantern.export.probe import probe
from lantern.export.video import (
    EncoderError,
    encode_animation,
    frame_order,
    gif_loop_value,
    insert_gif_comment,
    to_uint8,
)

META = {"prompt": {"3": {"class_type": "KSampler", "inputs": {"seed": 7, "text": "a=b; #c\\d"}}}, "workflow": {"nodes": [1]}}


def frames(n=6, h=24, w=32):
    g = torch.Generator().manual_seed(n)
    base = torch.rand(1, h, w, 3, generator=g)
    ramp = torch.linspace(0, 1, n).reshape(n, 1, 1, 1)
    return (base * 0.5 + ramp * 0.5).clamp(0, 1)


def test_formats_are_data_files():
    assert format_names() == ["h264-mp4", "vp9-webm", "gif", "webp"]
    fmt = get_format("h264-mp4")
    assert fmt.extension == "mp4" and fmt.even_dimensions and fmt.resolve_quality(-1) == 19
    with pytest.raises(ValueError, match=r"quality 60 is outside 0..51 for MP4 \(H.264\)"):
        fmt.resolve_quality(60)
    with pytest.raises(ValueError, match="unknown format 'avi'"):
        get_format("avi")


@pytest.mark.parametrize("name,ext", [("h264-mp4", "mp4"), ("vp9-webm", "webm")])
def test_video_frames_size_duration_metadata(tmp_path, name, ext):
    out = tmp_path / f"clip.{ext}"
    res = encode_animation(frames(6), out, name, fps=6, metadata=META)
    info = probe(str(out))
    assert (info.frames, info.width, info.height) == (6, 32, 24)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert json.loads(info.metadata["prompt"]) == META["prompt"]
    assert json.loads(info.metadata["workflow"]) == META["workflow"]
    assert res.frames == 6 and res.notes == []
    assert sorted(os.listdir(tmp_path)) == [f"clip.{ext}"]


def test_odd_sizes_padded_for_h264_and_said(tmp_path):
    out = tmp_path / "odd.mp4"
    res = encode_animation(frames(3, 23, 31), out, "h264-mp4", fps=10)
    info = probe(str(out))
    assert (info.width, info.height) == (32, 24) == (res.width, res.height)
    assert "padded from 31x23 to 32x24" in res.notes[0]


def test_gif_loop_pingpong_and_comment(tmp_path):
    out = tmp_path / "a.gif"
    res = encode_animation(frames(5), out, "gif", fps=10, loop_count=3, pingpong=True, metadata=META)
    info = probe(str(out))
    assert info.frames == 8 == res.frames  # 0 1 2 3 4 3 2 1
    assert info.loop == 2  # NETSCAPE stores repetitions: 3 plays
    assert info.duration == pytest.approx(0.8, abs=0.02)
    assert json.loads(info.metadata["comment"]) == META
    once = tmp_path / "once.gif"
    encode_animation(frames(3), once, "gif", fps=10, loop_count=1)
    assert probe(str(once)).loop is None  # no NETSCAPE block: plays once
    forever = tmp_path / "forever.gif"
    encode_animation(frames(3), forever, "gif", fps=10, loop_count=0)
    assert probe(str(forever)).loop == 0


def test_webp_loop_quality_and_exif(tmp_path):
    out = tmp_path / "a.webp"
    encode_animation(frames(4), out, "webp", fps=8, loop_count=2, quality=90, metadata=META)
    info = probe(str(out))
    assert (info.frames, info.width, info.height, info.loop) == (4, 32, 24, 2)
    assert info.duration == pytest.approx(0.5, abs=0.01)
    assert json.loads(info.metadata["prompt"]) == META["prompt"]
    assert json.loads(info.metadata["workflow"]) == META["workflow"]


def test_encoder_failure_leaves_no_file(tmp_path):
    broken = VideoFormat("broken", "Broken", "mp4", "ffmpeg", {"args": ["-c:v", "no_such_encoder"], "muxer": "mp4"})
    with pytest.raises(EncoderError, match=r"ffmpeg failed while encoding Broken after \d+ of 6 frames.*no_such_encoder"):
        encode_animation(frames(6), tmp_path / "x.mp4", broken, fps=6)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name,ext", [("h264-mp4", "mp4"), ("gif", "gif"), ("webp", "webp")])
def test_failure_midway_leaves_no_file(tmp_path, name, ext):
    clip = list(frames(6))
    clip[4] = torch.rand(10, 10, 3)  # wrong size mid-way
    with pytest.raises(ValueError, match="frame 4 is 10x10, expected 32x24"):
        encode_animation(clip, tmp_path / f"x.{ext}", name, fps=6)
    assert os.listdir(tmp_path) == []

    def cancel(count):
        if count == 3:
            raise InterruptedError("cancelled")

    with pytest.raises(InterruptedError):
        encode_animation(frames(6), tmp_path / f"y.{ext}", name, fps=6, on_frame=cancel)
    assert os.listdir(tmp_path) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        encode_animation(torch.zeros(0, 8, 8, 3), tmp_path / "a.mp4", "h264-mp4")
    with pytest.raises(ValueError, match="fps must be positive"):
        encode_animation(frames(2), tmp_path / "a.mp4", "h264-mp4", fps=0)
    with pytest.raises(ValueError, match="must end in .gif"):
        encode_animation(frames(2), tmp_path / "a.mp4", "gif")
    with pytest.raises(ValueError, match="loop_count"):
        encode_animation(frames(2), tmp_path / "a.gif", "gif", loop_count=-2)
    assert os.listdir(tmp_path) == []


@given(st.integers(0, 50), st.booleans())
def test_property_frame_order(n, pingpong):
    order = frame_order(n, pingpong)
    assert order[:n] == list(range(n))
    assert len(order) == (2 * n - 2 if pingpong and n > 2 else n)
    if pingpong and n > 2:
        assert order[n:] == list(range(n - 2, 0, -1))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 255))
def test_property_to_uint8_round_trip(v):
    t = torch.full((2, 2, 3), v / 255)
    assert int(to_uint8(t)[0, 0, 0]) == v
    assert to_uint8(torch.rand(3, 4, 4))[..., :3].shape == (3, 4, 3)


def test_gif_loop_values_and_comment_on_non_gif(tmp_path):
    assert [gif_loop_value(p) for p in (0, 1, 2, 5)] == [0, -1, 1, 4]
    bad = tmp_path / "x.gif"
    bad.write_bytes(b"not a gif at all")
    with pytest.raises(EncoderError, match="not a GIF"):
        insert_gif_comment(str(bad), str(tmp_path / "y.gif"), "x")


def test_webp_merges_identical_frames_but_keeps_timing(tmp_path):
    clip = torch.full((6, 16, 16, 3), 0.4)
    clip[3] = 0.8
    out = tmp_path / "m.webp"
    encode_animation(clip, out, "webp", fps=10)
    info = probe(str(out))
    assert info.frames == 3 and info.duration == pytest.approx(0.6, abs=0.01)


@given(st.integers(0, 500), st.integers(1, 64))
def test_property_palette_sample(n, k):
    from lantern.export.video import palette_sample

    idx = palette_sample(n, k)
    assert len(idx) == min(n, k) or (k == 1 and idx == [0])
    assert idx == sorted(set(idx)) and all(0 <= i < n for i in idx)
    if n and k > 1:
        assert idx[0] == 0 and idx[-1] == n - 1
