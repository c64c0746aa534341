"""Loading Hugging Face sequence classifiers for values (``toxicity:PATH``, ``reward-model:PATH``):
one rule for paths and hub ids, one-line errors, and the checks that keep a value from
scoring with a head that was never trained."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Sequence

# is_hub_id: anything else not on disk is a mistyped path
from ..generators.named import hub_unreachable, is_hub_id, unreachable_text
from .base import ValueFunctionError, first_line

HEAD_ARCH = "ForSequenceClassification"


@contextmanager
def loading_errors(name_or_path: str, what: str):
    """Turn hub/offline/format failures into one sentence naming the model; yields the path."""
    is_local = os.path.exists(os.path.expanduser(name_or_path))
    if not is_local and not is_hub_id(name_or_path):
        raise ValueFunctionError(f"{what} path '{name_or_path}' does not exist")
    unreachable = ValueFunctionError(unreachable_text(what, name_or_path))
    if not is_local and hub_unreachable(name_or_path):
        raise unreachable
    try:
        yield os.path.expanduser(name_or_path)
    except (OSError, ValueError, KeyError) as e:
        if isinstance(e, ValueFunctionError):
            raise
        if is_local:
            raise ValueFunctionError(f"could not load {what} from '{name_or_path}': {first_line(e)}") from None
        raise unreachable from None


@contextmanager
def quiet_transformers():
    """Silence transformers' load report while we judge the loading info ourselves."""
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)


def resolve_dtype(dtype, what: str):
    """A torch dtype from a name ("bfloat16"), or ``dtype`` itself ("auto", None, a dtype)."""
    if isinstance(dtype, str) and dtype != "auto":
        import torch

        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            raise ValueFunctionError(f"{what}: unknown dtype {dtype!r} (e.g. float32, bfloat16, float16)")
        return getattr(torch, dtype)
    return dtype


def pad_right(ids: Sequence[Sequence[int]], pad_id: int | None) -> dict:
    """A right-padded batch (``input_ids``, ``attention_mask``) of token id lists."""
    import torch

    width = max(len(x) for x in ids)
    pad = 0 if pad_id is None else pad_id  # only a batch of one has no pad token
    input_ids = torch.tensor([list(x) + [pad] * (width - len(x)) for x in ids], dtype=torch.long)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": mask}


def score_in_batches(
    model, ids: Sequence[Sequence[int]], pad_id: int | None, batch_size: int, device, read: Callable[[Any], Any]
) -> list[float]:
    """One number per token sequence from a sequence classifier: sequences sorted by length
    (little padding per batch), right-padded, and ``read`` turning a batch's float logits
    into one value per row; the results come back in the input order."""
    import torch

    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [0.0] * len(ids)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = pad_right([ids[i] for i in idx], pad_id)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits.float()
            for i, v in zip(idx, read(logits).cpu().tolist()):
                out[i] = v
    return out


def text_config(model):
    return model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config


def context_length(model, tokenizer, max_length: int | None = None) -> int | None:
    """The longest input the model takes: the smallest of its position table, the tokenizer's
    limit (RoBERTa-like models reserve positions) and ``max_length``; None when none says."""
    config = text_config(model)
    limits = [getattr(config, k, None) for k in ("max_position_embeddings", "n_positions", "n_ctx")]
    limits += [getattr(tokenizer, "model_max_length", None), max_length]
    limits = [int(n) for n in limits if isinstance(n, int) and 0 < n < 1_000_000]
    return min(limits) if limits else None


def load_sequence_classifier(
    name_or_path: str, what: str, dtype=None, check_config: Callable[[Any], None] | None = None, hint: str = ""
):
    """(model, tokenizer) of a sequence-classification checkpoint, or a ``ValueFunctionError`` in one
    line: missing path, unreachable hub id, not a classifier, ``check_config`` refusing the
    config, or a classification head with no trained weights (its scores would be random)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    with loading_errors(name_or_path, what) as path:
        config = AutoConfig.from_pretrained(path)
        arch = list(getattr(config, "architectures", None) or [])
        if arch and not any(a.endswith(HEAD_ARCH) for a in arch):
            raise ValueFunctionError(
                f"{what} '{name_or_path}' is not a sequence-classification checkpoint (architecture "
                f"{', '.join(arch)}){hint}"
            )
        if check_config is not None:
            check_config(config)
        with quiet_transformers():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path, dtype=resolve_dtype(dtype, what), output_loading_info=True
            )
        if info.get("missing_keys"):
            missing = sorted(info["missing_keys"])
            raise ValueFunctionError(
                f"{what} '{name_or_path}' has no trained weights for {', '.join(missing[:3])}"
                f"{' ...' if len(missing) > 3 else ''}; its scores would be random"
            )
        tokenizer = AutoTokenizer.from_pretrained(path)
    return model, tokenizer
