"""Tiny tokenizers the tests build themselves (nothing comes from a model hub)."""

from __future__ import annotations


def bos_tokenizer(texts):
    """A Llama-like tokenizer: it puts a BOS before every text and has no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=300,
            special_tokens=["<s>", "</s>"],
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", model_input_names=["input_ids", "attention_mask"]
    )


def tiny_decoder(tok, arch: str = "llama", hidden: int = 64, layers: int = 2, heads: int = 4, **config):
    """A tiny decoder of Llama's family (``arch``: llama, mistral, ...) for ``tok``, its random
    weights seeded: an intermediate size twice ``hidden``, two key-value heads, 256 positions,
    the tokenizer's special tokens; ``config`` overrides any of these."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    settings = dict(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(AutoConfig.for_model(arch, **{**settings, **config}))
