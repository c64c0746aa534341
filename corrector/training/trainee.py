"""The model a training run updates: the --init weights (any causal LM, in ``dtype``), or with
``lora_r`` a LoRA adapter (peft) on them, frozen; loaded before anything slow, so a bad
--init or LoRA setting fails first. Saved as a plain model folder, or as the adapter whose
``adapter_config.json`` names its base (``merge_lora``: the base with the adapter merged
in); generators/hf.py loads either. peft is imported only when an adapter is asked for."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from ...errors import first_line
from ...generators.base import GeneratorError
from ...generators.hf import HFGenerator, peft_quietly
from .config import TrainConfig, TrainError

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_FILES = (ADAPTER_CONFIG, "adapter_model.safetensors", "adapter_model.bin")


def load_trainee(
    init: str, config: TrainConfig, checkpoint: Path | None = None, device=None
) -> tuple[HFGenerator, TrainConfig]:
    """(the model to train with its tokenizer, ``config`` with the LoRA target modules peft
    chose). A resumed run's ``checkpoint`` holds whole weights or, with LoRA, the adapter
    trained so far, which goes back on the --init base."""
    adapter = checkpoint is not None and is_adapter(checkpoint)
    if checkpoint is not None and adapter != bool(config.lora_r):
        raise TrainError(
            f"the checkpoint {checkpoint} holds {'a LoRA adapter' if adapter else 'whole weights'}; resume "
            f"{'with the same LoRA rank' if adapter else 'without a LoRA adapter'}, as the run was started",
            option="lora_r",
        )
    source = str(checkpoint) if checkpoint is not None and not adapter else init
    try:
        hf = HFGenerator.from_pretrained(source, device=device, dtype=config.dtype)
    except GeneratorError as e:
        raise GeneratorError(str(e), option="init" if source == init else "resume") from None
    if hf.tokenizer.eos_token_id is None:
        raise TrainError(
            f"{init}: its tokenizer has no end-of-text token, which ends every training target", option="init"
        )
    if adapter:
        with peft_quietly():
            hf.model = _peft().PeftModel.from_pretrained(hf.model, str(checkpoint), is_trainable=True)
        hf.model.to(hf.device)
    elif config.lora_r:
        hf.model, config = add_adapter(hf.model, config, init)
        hf.model.to(hf.device)
    else:  # every weight trained: an --init adapter merged into its base left the base frozen, as peft holds it
        hf.model.requires_grad_(True)
    if config.lora_r and config.gradient_checkpointing:
        hf.model.enable_input_require_grads()  # the frozen embeddings' output must carry a gradient through checkpoints
    return hf, config


def add_adapter(model, config: TrainConfig, init: str):
    """(``model`` with a fresh LoRA adapter of ``config``, ``config`` naming the modules it wraps)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    peft = _peft()
    targets = target_modules(config.lora_target_modules)
    lora = peft.LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora_r,
        lora_alpha=config.lora_alpha or 2 * config.lora_r,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        fan_in_fan_out=any(isinstance(m, Conv1D) for m in model.modules()),
    )  # GPT-2's transposed layers
    torch.manual_seed(config.seed)  # the adapter's initial weights are drawn: seeded like the rest of the run
    try:
        with peft_quietly():
            wrapped = peft.get_peft_model(model, lora)
    except ValueError as e:
        raise TrainError(
            _no_match(model, init, targets, e), option="lora_target_modules" if targets else "lora_r"
        ) from None
    chosen = wrapped.peft_config["default"]
    chosen.base_model_name_or_path = recorded_base(init)
    # Recorded by their last name (peft matches names as suffixes), so "all-linear" reads as the
    # layers it took, not as every one of their paths.
    wrapped_names = sorted({name.rsplit(".", 1)[-1] for name in chosen.target_modules})
    return wrapped, replace(config, lora_target_modules=tuple(wrapped_names))


def target_modules(names: tuple[str, ...] | None):
    """--lora-target-modules as peft takes it: None (peft's default for the architecture),
    ``"all-linear"``, or a list of module names (given repeated or comma-separated).

    >>> target_modules(("q_proj,v_proj",)), target_modules(("all-linear",)), target_modules(None)
    (['q_proj', 'v_proj'], 'all-linear', None)
    """
    if not names:
        return None
    split = [n.strip() for name in names for n in name.split(",") if n.strip()]
    return "all-linear" if split == ["all-linear"] else split


def _no_match(model, init: str, targets, error: ValueError) -> str:
    import torch
    from transformers.pytorch_utils import Conv1D

    kind = getattr(model.config, "model_type", type(model).__name__)
    linear = sorted(
        {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, (torch.nn.Linear, Conv1D))}
        - {"lm_head"}
    )
    if "target" not in str(error).lower():
        return f"peft could not put a LoRA adapter on {init} ({kind}): {first_line(error)}"
    if targets is None:
        return (
            f"peft knows no default modules to adapt in a {kind} model ({init}); name the LoRA target modules "
            f"(its linear layers: {', '.join(linear)})"
        )
    given = targets if isinstance(targets, str) else ",".join(targets)
    return f"LoRA target modules {given}: {init} ({kind}) has no such module; its linear layers are {', '.join(linear)}"


def recorded_base(init: str) -> str:
    """How an adapter names its base: a local folder by its absolute path (the corrector may be
    loaded from anywhere), a hub id or a named generator (smollm2) as given."""
    local = Path(init).expanduser()
    return str(local.resolve()) if local.exists() else init


def is_adapter(folder: str | Path) -> bool:
    return Path(folder, ADAPTER_CONFIG).is_file()


def is_peft(model) -> bool:
    peft = sys.modules.get("peft")  # never imported just to answer no
    return peft is not None and isinstance(model, peft.PeftModel)


def save_model(model, folder: str | Path) -> None:
    """``model.save_pretrained(folder)``; a peft model's embedding layers saved only where its
    adapter targets them. peft's own default asks the hub for the base's config, to see whether
    the vocabulary grew: offline, or with a base named as correct names one (``smollm2``), every
    checkpoint warned that the lookup failed. Nothing here resizes a vocabulary."""
    if not is_peft(model):
        return model.save_pretrained(folder)
    from peft.utils.other import EMBEDDING_LAYER_NAMES

    targets = model.peft_config[model.active_adapter].target_modules or ()
    targeted = any(name in targets for name in EMBEDDING_LAYER_NAMES)
    model.save_pretrained(folder, save_embedding_layers="auto" if targeted else False)


def save_weights(hf: HFGenerator, folder: Path, merge: bool = False) -> None:
    """The trained weights into ``folder``: the model, or its LoRA adapter (``merge``: the base
    with the adapter merged in). Afterwards ``hf`` decodes with the merged weights either way:
    the same outputs, without the adapter's extra work per step."""
    if is_peft(hf.model):
        if not merge:
            save_adapter(hf.model, folder)
        hf.model = hf.model.merge_and_unload()
        if not merge:
            return
        for name in ADAPTER_FILES:  # a folder that held an adapter before must not be taken for one
            Path(folder, name).unlink(missing_ok=True)
    hf.model.save_pretrained(folder)


def save_adapter(model, folder: str | Path) -> None:
    """A peft model's adapter into ``folder``, without the placeholder model card peft writes
    there (the run writes its own, corrector/app/card.py)."""
    card = Path(folder, "README.md")
    before = card.read_bytes() if card.is_file() else None
    save_model(model, folder)
    if before is None:
        card.unlink(missing_ok=True)
    else:
        card.write_bytes(before)


def _peft():
    try:
        import peft
    except ImportError:
        raise TrainError(
            "a LoRA adapter is trained with peft, which is not installed: pip install 'correct[lora]'", option="lora_r"
        ) from None
    return peft
