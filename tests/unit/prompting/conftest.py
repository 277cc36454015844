import pytest

from lantern.prompting.tokens import TokenCounter, load_clip_tokenizer


@pytest.fixture(scope="session")
def est_counter():
    """Token counter without a tokenizer (the estimate): available everywhere."""
    return TokenCounter(None)


@pytest.fixture(scope="session")
def clip_tokenizer():
    tok = load_clip_tokenizer()
    if tok is None:
        pytest.skip("ComfyUI's CLIP-L tokenizer (comfy/sd1_tokenizer) not found; run scripts/bootstrap.sh")
    return tok


@pytest.fixture(scope="session")
def clip_counter(clip_tokenizer):
    return TokenCounter(clip_tokenizer)
