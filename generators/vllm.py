"""The ``vllm`` backend (optional extra ``correct[vllm]``, GPU): the same interface as ``hf``,
with vLLM's continuous batching and paged KV cache doing the decoding.

Status: written against vLLM's offline ``LLM.generate`` API and tested here only through a
stand-in module (CI never installs vLLM and has no GPU); it has not yet been run on a GPU.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..errors import first_line
from .base import GeneratorBase, GeneratorError, SamplingParams, chat_prompts, truncate_at_stop, without_doubled_bos
from .named import resolve_model


class VLLMGenerator(GeneratorBase):
    def __init__(self, llm, max_model_len: int | None = None, chat_template: bool = False):
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.max_model_len = max_model_len
        self.chat_template = chat_template
        self.tokens_generated = 0

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        seed: int = 0,
        chat_template: bool = False,
        **kwargs,
    ) -> "VLLMGenerator":
        try:
            from vllm import LLM
        except ImportError:
            raise GeneratorError("the vllm backend needs vLLM and a GPU: pip install 'correct[vllm]'") from None
        try:
            llm = LLM(
                model=resolve_model(name_or_path),
                dtype=dtype,
                seed=seed,
                gpu_memory_utilization=gpu_memory_utilization,
                tensor_parallel_size=tensor_parallel_size,
                max_model_len=max_model_len,
                **kwargs,
            )
        except (OSError, ValueError) as e:
            first = first_line(e)
            raise GeneratorError(f"vLLM could not load '{name_or_path}': {first}") from None
        engine_config = getattr(getattr(llm, "llm_engine", None), "model_config", None)
        return cls(llm, max_model_len or getattr(engine_config, "max_model_len", None), chat_template)

    def sampling_params(self, params: SamplingParams):
        from vllm import SamplingParams as VLLMParams

        greedy = params.temperature <= 0
        kwargs = dict(
            # Greedy copies are identical: decode once and repeat, as the hf backend does.
            n=1 if greedy else params.n,
            temperature=0.0 if greedy else params.temperature,
            top_p=1.0 if greedy else params.top_p,
            max_tokens=params.max_new_tokens,
            stop=list(params.stop) or None,
            seed=params.seed,
        )
        if self.max_model_len:
            # Over-long prompts lose their oldest tokens (as in hf) instead of failing the batch.
            kwargs["truncate_prompt_tokens"] = max(1, self.max_model_len - params.max_new_tokens)
        return VLLMParams(**kwargs)

    def room(self, prompts: Sequence[str]) -> list[int] | None:
        """The new tokens that fit after each prompt in ``max_model_len``, the prompt counted as
        ``generate`` sends it; None when the length is unknown."""
        if not self.max_model_len:
            return None
        sent = self._inputs(list(prompts))
        return [
            self.max_model_len - len(p["prompt_token_ids"] if isinstance(p, dict) else self.tokenizer(p)["input_ids"])
            for p in sent
        ]

    def _inputs(self, prompts: list[str]) -> list:
        """What ``llm.generate`` is given for each prompt."""
        if self.chat_template:  # token ids, so that the template's BOS is not added a second time
            return [
                {"prompt_token_ids": self.tokenizer(p, add_special_tokens=False)["input_ids"]}
                for p in chat_prompts(self.tokenizer, prompts)
            ]
        return without_doubled_bos(self.tokenizer, prompts)  # vLLM adds the special tokens, as hf does

    def generate(self, prompts: Sequence[str], params: SamplingParams) -> list[list[str]]:
        """``params.n`` completions of every prompt; ``last_finish``: vLLM's ``finish_reason`` of
        each (``"stop"``: end of text or a stop string; ``"length"``: ``max_tokens`` decoded)."""
        prompts = list(prompts)
        self.last_finish = None
        if not prompts:
            self.last_finish = []
            return []
        prompts = self._inputs(prompts)
        # One seed a prompt (the seed plus the prompt's index, as the openai backend asks): the
        # same prompt twice in a batch (a request's `n` choices in `correct serve`) gets two
        # different samples, not one sample twice, as with hf.
        per_prompt = [self.sampling_params(replace(params, seed=params.seed + i)) for i in range(len(prompts))]
        outputs = self.llm.generate(prompts, per_prompt, use_tqdm=False)
        results, finish = [], []
        for out in outputs:
            texts = [truncate_at_stop(o.text, params.stop) for o in out.outputs]
            # A text cut here met a stop string, whatever vLLM said.
            why = ["stop" if len(t) < len(o.text) else _finish(o.finish_reason) for t, o in zip(texts, out.outputs)]
            self.tokens_generated += sum(len(o.token_ids) for o in out.outputs)
            greedy = params.temperature <= 0
            results.append(texts * params.n if greedy else texts)
            finish.append(why * params.n if greedy else why)
        self.last_finish = finish
        return results


def _finish(reason) -> str | None:
    """vLLM's ``CompletionOutput.finish_reason`` as ``last_finish`` holds it: ``"stop"`` (end of
    text, a stop string or token) and ``"length"`` as they are; any other (``"abort"``, None
    while unfinished) unknown."""
    return reason if reason in ("stop", "length") else None
