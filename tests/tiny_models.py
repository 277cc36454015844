"""Tiny models built from configs with seeded random weights, shared by unit and e2e tests (no downloads)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_gpt2(folder: Path) -> Path:
    """Save a random-weight GPT-2 with a small BPE tokenizer trained on Lantern's vocabulary into `folder`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from lantern.prompting.expander import pools
    from lantern.prompting.vocab import get_vocabulary

    corpus = [phrase for phrases in pools()["detail"].values() for phrase in phrases]
    for table in get_vocabulary().tables.values():
        corpus += list(table)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator([", ".join(corpus)] * 3, trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(fast), n_positions=128, n_embd=32, n_layer=2, n_head=2))
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return Path(folder)
