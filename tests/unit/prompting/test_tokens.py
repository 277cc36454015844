import pytest

from lantern.prompting.tokens import CONTENT, TokenCounter, budget_fill_window, estimate_word_tokens


def test_estimate_counts_digits_and_punctuation():
    assert estimate_word_tokens("cat") == 1
    assert estimate_word_tokens("f/1.8") == 5  # f / 1 . 8
    assert estimate_word_tokens("extraordinarily") == 3


def test_clip_counts_match_tokenizer(clip_counter, clip_tokenizer):
    text = "a red kite over a green field, watercolor, photorealistic"
    n = len(clip_tokenizer(text, add_special_tokens=False)["input_ids"])
    assert clip_counter.count(text) == n
    assert clip_counter.method == "clip"


def test_weighting_syntax_is_not_counted(clip_counter):
    assert clip_counter.count("(red:1.3) kite") == clip_counter.count("red kite")


def test_window_map_splits_at_75(clip_counter):
    text = ", ".join(["red kite over a green field"] * 20)
    m = clip_counter.window_map(text)
    assert m["tokens"] == clip_counter.count(text)
    assert m["windows_used"] == -(-m["tokens"] // CONTENT)
    assert [w["tokens"] for w in m["windows"]][:-1] == [CONTENT] * (m["windows_used"] - 1)
    assert sum(w["tokens"] for w in m["windows"]) == m["tokens"]


def test_short_segment_moves_whole_to_next_window(est_counter):
    # 74 one-token words then a weighted 3-token segment: ComfyUI moves the short segment whole
    text = " ".join(["cat"] * 74) + " (red kite sky:1.2)"
    m = est_counter.window_map(text)
    assert [w["tokens"] for w in m["windows"]] == [74, 3]
    assert m["split_words"] == []


def test_long_segment_is_cut_and_split_word_reported(est_counter):
    text = " ".join(["cat"] * 74) + " extraordinarily"  # 3 estimated tokens, one fits
    m = est_counter.window_map(text)
    assert [w["tokens"] for w in m["windows"]] == [75, 2]
    assert m["split_words"] == [{"word": "extraordinarily", "windows": [0, 1]}]


def test_empty_map(est_counter):
    m = est_counter.window_map("")
    assert m["tokens"] == 0 and m["windows"] == [] and m["windows_used"] == 0


def test_budget_fill_window():
    assert budget_fill_window(0) == 75
    assert budget_fill_window(10) == 75
    assert budget_fill_window(75) == 75
    assert budget_fill_window(76) == 150
