import pytest
from hypothesis import given, settings, strategies as st

from lantern.animation.easing import EASINGS, ease
from lantern.animation.schedule import ScheduleError, parse_schedule

BIRD = """# a bird's day
0: a small bird flies across a field | ease: ease-in-out
12: the bird lands on a tree | neg: blurry
20: the bird sings on a branch
"""


def test_parses_keys_options_and_pre_app_text():
    s = parse_schedule(BIRD, 24, pre_text="watercolour", app_text="soft light", default_negative="lowres")
    assert s.key_frames == [0, 12, 20]
    assert s.keys[0].prompt == "watercolour, a small bird flies across a field, soft light"
    assert s.keys[0].easing == "ease-in-out" and s.keys[1].easing == "linear"
    assert [k.negative for k in s.keys] == ["lowres", "blurry", "lowres"]
    assert [k.line for k in s.keys] == [2, 3, 4]
    assert s.warnings == ()


def test_blend_between_keys_uses_the_from_keys_easing():
    s = parse_schedule(BIRD, 24)
    b = s.blend(6)
    assert (b.a, b.b, b.progress) == (0, 1, 0.5)
    assert b.weight == pytest.approx(ease("ease-in-out", 0.5))
    b = s.blend(16)
    assert (b.a, b.b, b.progress, b.weight) == (1, 2, 0.5, 0.5)
    # after the last key, without loop, the last prompt holds
    assert [(p.a, p.b, p.weight) for p in s.plan()[20:]] == [(2, 2, 0.0)] * 4


def test_loop_blends_back_to_the_first_key():
    s = parse_schedule("0: a\n12: b", 16, loop=True)
    b = s.blend(14)
    assert (b.a, b.b, b.progress) == (1, 0, 0.5)
    assert s.blend(12).weight == 0.0


def test_fizznodes_style_lines_and_literal_pipes():
    s = parse_schedule('"0": "a cat | a dog",\n"10": "a fox",', 12)
    assert [k.text for k in s.keys] == ["a cat | a dog", "a fox"]


def test_close_keys_warn_with_lines():
    s = parse_schedule("0: a\n2: b\n10: c", 12, min_spacing=4)
    assert len(s.warnings) == 1
    assert "keys 0 (line 1) and 2 (line 2)" in s.warnings[0]


def test_each_distinct_prompt_listed_once():
    s = parse_schedule("0: a\n5: b\n10: a", 12)
    assert s.distinct_prompts() == ["a", "b"]


@pytest.mark.parametrize(
    "text,frames,message",
    [
        ("", 10, "schedule is empty"),
        ("# only a comment\n\n", 10, "schedule is empty"),
        ("0: a", 10, "one key only (line 1)"),
        ("0: a\n8: b\n4: c", 10, "line 3: key 4 comes after key 8 (line 2)"),
        ("0: a\n12: b", 10, "line 2: key 12 is beyond the last frame (9)"),
        ("0: a\n10: b", 10, "line 2: key 10 is beyond the last frame (9)"),
        ("0: a\n5: b\n5: c", 10, "line 3: key 5 is a duplicate of line 2"),
        ("0: a\nfive: b", 10, "line 2: expected a whole frame number before ':', got 'five'"),
        ("0: a\n2.5: b", 10, "line 2: expected a whole frame number"),
        ("0: a\n-3: b", 10, "line 2: frame -3 is negative"),
        ("0: a\njust some text", 10, "line 2: expected '<frame>: <prompt>'"),
        ("0: a\n5:   ", 10, "line 2: key 5 has an empty prompt"),
        ("0: a | ease: bouncy\n5: b", 10, "line 1: unknown easing 'bouncy'"),
        ("3: a\n5: b", 10, "line 1: the first key is 3; the first key must be 0"),
        ("0: a\n5: b", 0, "frames must be a positive whole number"),
        ("0: a\n5: b", -4, "frames must be a positive whole number"),
        ("0: a\n5: b", 10**7, "more than the limit of 10000"),
    ],
)
def test_bad_input_names_line_and_expectation(text, frames, message):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(text, frames)
    assert message in str(err.value)


@st.composite
def schedules(draw):
    frames = draw(st.integers(2, 400))
    n = draw(st.integers(2, min(frames, 12)))
    keys = sorted(draw(st.sets(st.integers(1, frames - 1), min_size=n - 1, max_size=n - 1)))
    keys = [0] + keys
    prompts = draw(st.lists(st.text("abcdefgh xyz", min_size=1, max_size=12).filter(lambda t: t.strip()),
                            min_size=len(keys), max_size=len(keys)))
    easings = draw(st.lists(st.sampled_from(list(EASINGS)), min_size=len(keys), max_size=len(keys)))
    loop = draw(st.booleans())
    return frames, keys, prompts, easings, loop


@settings(max_examples=60, deadline=None)
@given(schedules())
def test_property_round_trip_and_weights(data):
    frames, keys, prompts, easings, loop = data
    text = "\n".join(f"{k}: {p} | ease: {e}" for k, p, e in zip(keys, prompts, easings))
    s = parse_schedule(text, frames, loop=loop)
    assert s.key_frames == keys
    assert [k.text for k in s.keys] == [p.strip() for p in prompts]
    plan = s.plan()
    assert len(plan) == frames
    for p in plan:
        assert 0.0 <= p.weight <= 1.0 and 0.0 <= p.progress < 1.0
    for i, k in enumerate(keys):  # every key frame is exactly its own prompt
        assert plan[k].a == i and plan[k].weight == 0.0
    # weights never decrease within a segment
    for p0, p1 in zip(plan, plan[1:]):
        if p0.a == p1.a:
            assert p1.weight >= p0.weight


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(EASINGS)), st.floats(0, 1), st.floats(0, 1))
def test_property_easings_monotone_bounded(name, t0, t1):
    lo, hi = sorted((t0, t1))
    assert 0.0 <= ease(name, lo) <= ease(name, hi) <= 1.0
    assert ease(name, 0.0) == 0.0 and ease(name, 1.0) == 1.0
