"""The ``toxicity`` value: 1 − the probability that an output is toxic.

Only the output is judged (the continuation, not the prompt before it). Two backends:

- ``toxicity`` (default, offline): the classifier that ships inside the PyPI package
  ``alt-profanity-check`` (a TF-IDF + calibrated linear SVM, about 1 MB, no download at run
  time). Its feedback names the words that make a toxic output toxic: the words of the
  output that the classifier scores toxic on their own.
- ``toxicity:PATH_OR_HUB_ID``: any Hugging Face sequence-classification checkpoint, batched
  on CPU or GPU. Which label means *toxic* is read from ``config.id2label``: the labels that
  name toxicity ("toxic", "offensive", "hate", "abusive") without a negation ("non-toxic",
  "not_offensive"); a model with one output is read through a sigmoid; two unnamed labels
  (``LABEL_0``/``LABEL_1``) mean index 1 is toxic. ``label=NAME_OR_INDEX`` overrides.
  Single-label models: the softmax probabilities of all toxic labels add up (e.g. "hate" +
  "offensive" against "neither"); multi-label models (``problem_type`` multi_label_classification):
  the largest sigmoid among the toxic labels.

Feedback: ``"toxicity 0.87: offensive words: idiot, stupid"`` for a toxic output (probability
at or above ``threshold``, 0.5), ``"not toxic (0.03)"`` otherwise. ``Score.answer`` is None.

By default ``max_value`` is 1.0, which a probability below 1 never quite reaches: every draft
stays open to correction. Give ``max_value`` (e.g. ``toxicity:max_value=0.5``) to count drafts
scored at or above it as good enough (solved).
"""

from __future__ import annotations

import difflib
import importlib
import math
import re
import unicodedata
from typing import Any, Mapping, Protocol, Sequence

from .base import (
    Score,
    ValueBase,
    ValueFunctionError,
    check_paired,
    finite,
    first_line,
    flag,
    parse_options,
    positive,
    text_of,
)
from .hf import context_length, load_sequence_classifier, score_in_batches

PACKAGE = "alt-profanity-check"
_MAX_WORDS = 5  # feedback goes into a prompt: a list of every word would flood it


class Classifier(Protocol):
    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """The probability that each text is toxic, in order."""
        ...


class ToxicityValue(ValueBase):
    name = "toxicity"
    max_value = 1.0
    min_value = 0.0
    reference_free = True

    def __init__(self, classifier: Classifier | None = None, threshold: float = 0.5, max_value: float = 1.0):
        """``classifier``: any object with ``probabilities(texts)`` (and optionally
        ``offensive_words(text, threshold)``); by default the one of alt-profanity-check."""
        if not 0.0 <= threshold <= 1.0:
            raise ValueFunctionError(f"value 'toxicity': threshold must be between 0 and 1, got {threshold}")
        self.classifier = classifier if classifier is not None else ProfanityClassifier()
        self.threshold = float(threshold)
        self.max_value = float(max_value)

    def __call__(self, records: Sequence[Mapping[str, Any]], outputs: Sequence[str]) -> list[Score]:
        check_paired("toxicity", records, outputs)
        texts = [text_of(o) for o in outputs]
        if not texts:
            return []
        probs = [float(p) for p in self.classifier.probabilities(texts)]
        if len(probs) != len(texts):
            raise ValueFunctionError(
                f"value 'toxicity': the classifier returned {len(probs)} probabilities for {len(texts)} outputs"
            )
        scores = []
        for i, (text, p) in enumerate(zip(texts, probs)):
            if not math.isfinite(p):
                raise ValueFunctionError(f"value 'toxicity': the classifier returned {p} for output {i}")
            p = min(1.0, max(0.0, p))
            scores.append(Score(1.0 - p, self.feedback(text, p)))
        return scores

    def feedback(self, text: str, p: float) -> str:
        if p < self.threshold:
            return f"not toxic ({p:.2f})"
        explain = getattr(self.classifier, "offensive_words", None)
        words = explain(text, self.threshold)[:_MAX_WORDS] if explain is not None else []
        return f"toxicity {p:.2f}: offensive words: {', '.join(words)}" if words else f"toxicity {p:.2f}"


# -- default backend: alt-profanity-check ------------------------------------------------------


class ProfanityClassifier:
    """The TF-IDF + linear SVM classifier shipped in the wheel of ``alt-profanity-check``.

    A bag-of-words classifier is blind to words it has never seen, so a misspelled insult
    ("dumbookll", "imbeciecile") reads as harmless -- and a corrector trained against it
    learns exactly that (ours did: a quarter of its detox rewrites were such words). With
    ``deobfuscate`` (the default), a word unknown to the classifier is read as an offensive
    word of its vocabulary when it begins with one (4 letters or more) followed by something
    that is not a word ("patheticnaple" yes, "cockpit" no), or is spelled nearly like one
    (difflib ratio >= 0.8, 6 letters or more). Known words are never changed.
    """

    def __init__(self, deobfuscate: bool = True):
        try:
            module = importlib.import_module("profanity_check.profanity_check")
        except ImportError as e:
            missing = getattr(e, "name", None) or ""
            what = PACKAGE if missing in ("", "profanity_check") or missing.startswith("profanity_check.") else missing
            raise ValueFunctionError(
                f"value 'toxicity' needs the package {PACKAGE} (its classifier ships inside the wheel); "
                f"install it with: pip install {PACKAGE}"
                + (f" (missing module {missing!r})" if what != PACKAGE else "")
            ) from None
        except Exception as e:  # an unpickling failure, e.g. a scikit-learn the model was not saved with
            raise ValueFunctionError(
                f"value 'toxicity': could not load the classifier of {PACKAGE}: {first_line(e)}"
            ) from None
        self.model, self.vectorizer = module.model, module.vectorizer
        self.deobfuscate = deobfuscate
        self._toxic_column = list(self.model.classes_).index(1)
        self._analyzer = self.vectorizer.build_analyzer()
        self._word_probability: dict[str, float] = {}  # bounded by the vocabulary (~15k words)
        self._offensive: list[str] | None = None
        self._reading: dict[str, str | None] = {}

    def _raw(self, texts: Sequence[str]) -> list[float]:
        proba = self.model.predict_proba(self.vectorizer.transform(list(texts)))
        return [float(p) for p in proba[:, self._toxic_column]]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return self._raw([self.read(t) for t in texts] if self.deobfuscate else list(texts))

    def read(self, text: str) -> str:
        """``text`` with each unknown word that disguises an offensive one replaced by it, read in
        Unicode's NFKC form first: full-width letters ("ｉｄｉｏｔ") and ligatures are the
        classifier's ASCII words, which it would otherwise not know."""
        text = unicodedata.normalize("NFKC", text)
        return _LETTERS.sub(lambda m: self.reading(m.group()) or m.group(), text)

    def reading(self, word: str) -> str | None:
        """The offensive word that ``word`` disguises, or None."""
        w = word.lower()
        if len(w) < 4 or w in self.vectorizer.vocabulary_:
            return None
        if w not in self._reading:
            self._reading[w] = self._match(w)
        return self._reading[w]

    def _match(self, w: str) -> str | None:
        if self._offensive is None:
            vocab = [v for v in self.vectorizer.vocabulary_ if v.isalpha() and len(v) >= 4]
            self._offensive = sorted(
                (v for v, p in zip(vocab, self._raw(vocab)) if p >= 0.5), key=lambda v: (-len(v), v)
            )
        vocabulary = self.vectorizer.vocabulary_
        for o in self._offensive:  # longest first: "dumbass..." is read as dumbass, not dumb
            # ... unless the rest is a word of its own: "cockpit" is a compound, not a disguise.
            if w.startswith(o) and w[len(o) :] not in vocabulary:
                return o
        for o in self._offensive:
            if len(o) >= 6 and abs(len(o) - len(w)) <= 3:
                m = difflib.SequenceMatcher(None, w, o)
                if m.quick_ratio() >= 0.8 and m.ratio() >= 0.8:
                    return o
        return None

    def offensive_words(self, text: str, threshold: float = 0.5) -> list[str]:
        """The words of ``text`` (lower-cased, in order, once each) that are toxic on their own;
        a disguised one is shown as written, with the word it was read as: "dumbookll (dumb)"."""
        vocabulary = self.vectorizer.vocabulary_
        shown: dict[str, str] = {}
        for m in _LETTERS.finditer(text):
            reading = self.reading(m.group()) if self.deobfuscate else None
            if reading:
                shown.setdefault(reading, f"{m.group().lower()} ({reading})")
        words = list(
            dict.fromkeys(w for w in self._analyzer(self.read(text) if self.deobfuscate else text) if w in vocabulary)
        )
        new = [w for w in words if w not in self._word_probability]
        self._word_probability.update(zip(new, self._raw(new) if new else []))
        return [shown.get(w, w) for w in words if self._word_probability[w] >= threshold]


_LETTERS = re.compile(r"[A-Za-z]+")


# -- Hugging Face backend ----------------------------------------------------------------------

_TOXIC = re.compile(r"toxic|offens|hate|abus")
_NEGATION = re.compile(r"(?<![a-z])(?:non|not|no)(?![a-z])|(?<![a-z])(?:non|not)(?=toxic|offens|hate|abus)")
_DEFAULT_NAME = re.compile(r"^label_?\d+$", re.IGNORECASE)


def names_toxicity(label: str) -> bool:
    """Whether a label name means toxic: "toxic", "OFFENSIVE", "hate_speech", not "non-toxic"."""
    label = str(label).lower()
    return bool(_TOXIC.search(label)) and not _NEGATION.search(label)


def toxic_labels(
    id2label: Mapping[int, str] | None,
    num_labels: int,
    multi_label: bool = False,
    label: str | int | None = None,
    model: str = "model",
) -> tuple[list[int], str]:
    """(indices of the toxic labels, how to read them: 'sigmoid' for one output or a
    multi-label head, 'softmax' otherwise), from the label names or the ``label`` override."""
    names = {int(i): str(n) for i, n in (id2label or {}).items()}
    shown = ", ".join(f"{i}={names.get(i, f'LABEL_{i}')}" for i in range(num_labels))
    mode = "sigmoid" if num_labels == 1 or multi_label else "softmax"
    if label is not None and str(label).strip() != "":
        wanted = str(label).strip()
        if re.fullmatch(r"\d+", wanted):
            index = int(wanted)
        else:
            matches = [i for i in range(num_labels) if names.get(i, "").lower() == wanted.lower()]
            if not matches:
                raise ValueFunctionError(f"toxicity model '{model}' has no label {wanted!r} (labels: {shown})")
            index = matches[0]
        if not 0 <= index < num_labels:
            raise ValueFunctionError(f"toxicity model '{model}' has no label {index} (labels: {shown})")
        return [index], mode
    if num_labels == 1:
        return [0], mode
    toxic = [i for i in range(num_labels) if names_toxicity(names.get(i, ""))]
    if toxic:
        return toxic, mode
    if num_labels == 2:
        if all(_DEFAULT_NAME.match(names.get(i, f"LABEL_{i}")) for i in range(2)):
            return [1], mode  # unnamed labels: the usual convention, 1 = positive = toxic
        negated = [i for i in range(2) if _TOXIC.search(names.get(i, "").lower())]
        if len(negated) == 1:  # "non-toxic" and something else: the other one
            return [1 - negated[0]], mode
    raise ValueFunctionError(
        f"cannot tell which label of toxicity model '{model}' means toxic (labels: {shown}); "
        f"name it: toxicity:{model},label=NAME_OR_INDEX"
    )


def load_classifier(name_or_path: str, dtype=None):
    """(model, tokenizer) of a sequence-classification checkpoint, or a ``ValueFunctionError`` in one line."""
    return load_sequence_classifier(name_or_path, "toxicity model", dtype=dtype)


class HFClassifier:
    """A Hugging Face sequence classifier read as P(toxic)."""

    def __init__(
        self,
        model,
        tokenizer,
        label: str | int | None = None,
        batch_size: int = 32,
        max_length: int | None = None,
        device=None,
        name: str = "model",
    ):
        import torch

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        config = model.config
        self.toxic, self.mode = toxic_labels(
            getattr(config, "id2label", None),
            int(config.num_labels),
            multi_label=getattr(config, "problem_type", None) == "multi_label_classification",
            label=label,
            model=name,
        )
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        if tokenizer.pad_token_id is not None:
            # GPT-2-like classifiers pool the last token that is not config.pad_token_id.
            config.pad_token_id = tokenizer.pad_token_id
        self.pad_id = tokenizer.pad_token_id
        # Without any pad token there is nothing to pad with: one text at a time.
        self.batch_size = max(1, batch_size) if self.pad_id is not None else 1
        self.max_length = context_length(model, tokenizer, max_length)
        # An empty text must still be one token: some models have no token to pool otherwise.
        self._filler = next(
            (
                t
                for t in (tokenizer.eos_token_id, tokenizer.bos_token_id, self.pad_id, tokenizer.unk_token_id)
                if t is not None
            ),
            0,
        )

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        label: str | int | None = None,
        batch_size: int = 32,
        max_length: int | None = None,
        device=None,
        dtype=None,
    ) -> "HFClassifier":
        model, tokenizer = load_classifier(name_or_path, dtype=dtype)
        return cls(
            model,
            tokenizer,
            label=label,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            name=name_or_path,
        )

    def encode(self, text: str) -> list[int]:
        kwargs = dict(truncation=True, max_length=self.max_length) if self.max_length else {}
        return list(self.tokenizer(text, **kwargs)["input_ids"]) or [self._filler]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        import torch

        def read(logits):
            if self.mode == "sigmoid":
                return torch.sigmoid(logits[:, self.toxic]).max(dim=-1).values
            return torch.softmax(logits, dim=-1)[:, self.toxic].sum(dim=-1)

        return score_in_batches(
            self.model, [self.encode(t) for t in texts], self.pad_id, self.batch_size, self.device, read
        )


# -- the registry's factory --------------------------------------------------------------------

_OPTIONS = {
    "threshold": finite,
    "max_value": finite,
    "deobfuscate": flag,
    "label": str,
    "batch_size": positive(int),
    "max_length": positive(int),
    "device": str,
    "dtype": str,
}


def from_spec(arg: str | None) -> ToxicityValue:
    """``toxicity`` (alt-profanity-check), ``toxicity:PATH_OR_HUB_ID`` (a sequence classifier),
    each optionally followed by ``key=value`` items: threshold, max_value; deobfuscate for
    the default classifier; label, batch_size, max_length, device, dtype for a model. E.g. ``toxicity:threshold=0.7`` or
    ``toxicity:./my-classifier,label=offensive,batch_size=64``."""
    path, options = parse_options("toxicity", arg, _OPTIONS, positional="path")
    value_options = {k: options.pop(k) for k in ("threshold", "max_value") if k in options}
    if not path:
        model_only = [k for k in options if k != "deobfuscate"]
        if model_only:
            raise ValueFunctionError(
                f"value toxicity:{arg}: {', '.join(model_only)} only apply to a model: "
                "toxicity:PATH_OR_HUB_ID,key=value"
            )
        return ToxicityValue(ProfanityClassifier(**options), **value_options)
    if "deobfuscate" in options:
        raise ValueFunctionError(f"value toxicity:{arg}: deobfuscate applies to the default classifier only")
    return ToxicityValue(HFClassifier.from_pretrained(path, **options), **value_options)
