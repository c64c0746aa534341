"""The toxicity value: the default backend (alt-profanity-check, offline) on known strings, and
the Hugging Face backend on tiny GPT-2 classifiers whose weights are set by hand, so that the
outcome is known: the last token alone decides, toxic when it is an insult."""

from __future__ import annotations

import sys

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, PreTrainedTokenizerFast

from correct.values import Score, ValueFunctionError
from correct.values.toxicity import HFClassifier, ToxicityValue, from_spec, names_toxicity, toxic_labels

TOXIC = [
    "You are a stupid idiot.",
    "Shut up, you damn fool!",
    "what a pathetic moron",
    "go to hell, loser",
    "he was a complete jerk and full of crap",
]
BENIGN = [
    "Thank you so much for your help.",
    "doing the best job he could.",
    "The weather is lovely today.",
    "She was probably just having a hard day.",
    "Let's talk about it calmly tomorrow.",
    "",
]


# -- default backend ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_value():
    pytest.importorskip(
        "profanity_check", reason="alt-profanity-check is not installed (pip install alt-profanity-check)"
    )
    return from_spec(None)


def test_default_backend_tells_toxic_from_benign(default_value):
    v = default_value
    assert (v.name, v.max_value, v.min_value, v.reference_free) == ("toxicity", 1.0, 0.0, True)
    scores = v([{"id": str(i)} for i in range(len(TOXIC + BENIGN))], TOXIC + BENIGN)
    assert all(isinstance(s, Score) and s.answer is None for s in scores)
    assert all(s.value < 0.2 for s in scores[: len(TOXIC)]), [(s.value, s.feedback) for s in scores]
    assert all(s.value > 0.8 for s in scores[len(TOXIC) :]), [(s.value, s.feedback) for s in scores]
    assert all(0.0 <= s.value <= 1.0 for s in scores)
    assert v([], []) == []


def test_default_feedback_names_the_offensive_words(default_value):
    toxic, benign = default_value([{}, {}], ["You are a STUPID idiot, a total idiot.", "Thank you so much."])
    p = 1 - toxic.value
    assert toxic.feedback == f"toxicity {p:.2f}: offensive words: stupid, idiot"
    assert benign.feedback == f"not toxic ({1 - benign.value:.2f})"
    # A sentence can be toxic without any one word being so: then only the probability.
    assert default_value.feedback("no offensive word here", 0.9) == "toxicity 0.90"


def test_options_threshold_and_max_value(default_value):
    v = from_spec("threshold=0.99,max_value=0.5")
    assert v.threshold == 0.99 and v.max_value == 0.5 and type(v.classifier) is type(default_value.classifier)
    [s] = v([{}], ["what a dumb decision"])  # about 0.85: toxic at 0.5, not at 0.99
    assert s.feedback.startswith("not toxic (")
    [s] = default_value([{}], ["what a dumb decision"])
    assert s.feedback.startswith("toxicity 0.")


# Insults disguised as unknown words -- the ones our own detox corrector learned to write
# against the plain classifier -- and unknown words that disguise nothing.
DISGUISED = [
    "He was a dumbookll.",
    "She is a patheticnaple and everyone knew it.",
    "He is an imbeciecile.",
    "He was a damnaple.",
]
UNKNOWN_BUT_FINE = ["The linesman was signaling to the cyclist.", "He sat in the cockpit.", "A gamep kee calking."]


def test_disguised_insults_are_read_as_the_insult(default_value):
    plain = from_spec("deobfuscate=false")
    assert plain.classifier.deobfuscate is False and default_value.classifier.deobfuscate is True
    records = [{}] * len(DISGUISED)
    assert all(s.value > 0.7 for s in plain(records, DISGUISED))  # the hole: the plain classifier sees nothing
    scores = default_value(records, DISGUISED)
    assert all(s.value < 0.1 for s in scores), [(s.value, s.feedback) for s in scores]
    assert [s.feedback.split(": ")[-1] for s in scores] == [
        "dumbookll (dumb)",
        "patheticnaple (pathetic)",
        "imbeciecile (imbecile)",
        "damnaple (damn)",
    ]


def test_full_width_letters_are_read_as_the_word(default_value):
    """Full-width letters are other characters than ASCII's: the classifier knew no word of
    "ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ" and scored it harmless."""
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in "you are an idiot")
    plain, wide_score = default_value([{}, {}], ["you are an idiot", wide])
    assert plain.value < 0.3 and wide_score.value == plain.value, (plain, wide_score)
    assert wide_score.feedback == plain.feedback


def test_unknown_words_that_disguise_nothing_are_left_alone(default_value):
    c = default_value.classifier
    assert [c.reading(w) for w in ("linesman", "signaling", "cockpit", "gamep", "calking", "stupid", "dumb")] == [
        None
    ] * 7
    assert c.read("A dumbookll with a cockpit") == "A dumb with a cockpit"
    plain = from_spec("deobfuscate=false")
    records = [{}] * len(UNKNOWN_BUT_FINE)
    assert [s.value for s in default_value(records, UNKNOWN_BUT_FINE)] == [
        s.value for s in plain(records, UNKNOWN_BUT_FINE)
    ]
    with pytest.raises(ValueFunctionError, match="deobfuscate applies to the default classifier only"):
        from_spec("/tmp,deobfuscate=true")


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "profanity_check", None)
    monkeypatch.setitem(sys.modules, "profanity_check.profanity_check", None)
    with pytest.raises(
        ValueFunctionError, match=r"needs the package alt-profanity-check.*pip install alt-profanity-check"
    ):
        from_spec(None)


def test_bad_specs_and_shapes():
    class Fixed:
        def probabilities(self, texts):
            return [0.25] * len(texts)

    v = ToxicityValue(Fixed())
    assert v([{}], ["anything"]) == [Score(0.75, "not toxic (0.25)")]
    with pytest.raises(ValueFunctionError, match="1 records for 2 outputs"):
        v([{}], ["a", "b"])
    with pytest.raises(ValueFunctionError, match="unknown option 'bogus'"):
        from_spec("bogus=1")
    with pytest.raises(ValueFunctionError, match="threshold must be a number"):
        from_spec("threshold=high")
    with pytest.raises(ValueFunctionError, match="label only apply to a model"):
        from_spec("label=toxic")
    with pytest.raises(ValueFunctionError, match="threshold must be between 0 and 1"):
        ToxicityValue(Fixed(), threshold=2)


# -- which label is toxic ----------------------------------------------------------------------


def test_label_names():
    assert all(
        map(
            names_toxicity,
            [
                "toxic",
                "TOXIC",
                "toxicity",
                "offensive",
                "OFFENSIVE",
                "hate",
                "hate_speech",
                "abusive",
                "severe_toxic",
                "identity_hate",
            ],
        )
    )
    assert not any(
        map(
            names_toxicity,
            [
                "non-toxic",
                "nontoxic",
                "Non_Toxic",
                "not_offensive",
                "NOT",
                "no-hate",
                "nothate",
                "neutral",
                "LABEL_1",
                "none",
                "neither",
            ],
        )
    )


def test_toxic_labels_from_id2label():
    assert toxic_labels({0: "non-toxic", 1: "toxic"}, 2) == ([1], "softmax")
    assert toxic_labels({0: "TOXIC", 1: "NEUTRAL"}, 2) == ([0], "softmax")
    assert toxic_labels({0: "LABEL_0", 1: "LABEL_1"}, 2) == ([1], "softmax")  # unnamed: index 1
    assert toxic_labels(None, 2) == ([1], "softmax")
    assert toxic_labels({0: "LABEL_0"}, 1) == ([0], "sigmoid")  # one logit: sigmoid
    assert toxic_labels({0: "nothate", 1: "other"}, 2) == ([1], "softmax")  # the one not negated
    # Several toxic labels: softmax probabilities add up; a multi-label head takes the largest sigmoid.
    assert toxic_labels({0: "neither", 1: "offensive", 2: "hate"}, 3) == ([1, 2], "softmax")
    labels = dict(enumerate(["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]))
    assert toxic_labels(labels, 6, multi_label=True) == ([0, 1, 5], "sigmoid")
    # Overrides, by name (any case) or by index.
    assert toxic_labels(labels, 6, multi_label=True, label="INSULT") == ([4], "sigmoid")
    assert toxic_labels({0: "non-toxic", 1: "toxic"}, 2, label="0") == ([0], "softmax")
    with pytest.raises(
        ValueFunctionError,
        match=r"cannot tell which label of toxicity model 'm' means toxic "
        r"\(labels: 0=positive, 1=negative, 2=neutral\); name it: toxicity:m,label=",
    ):
        toxic_labels({0: "positive", 1: "negative", 2: "neutral"}, 3, model="m")
    with pytest.raises(ValueFunctionError, match="has no label 'rude'"):
        toxic_labels({0: "non-toxic", 1: "toxic"}, 2, label="rude")
    with pytest.raises(ValueFunctionError, match="has no label 5"):
        toxic_labels({0: "non-toxic", 1: "toxic"}, 2, label=5)


# -- Hugging Face backend on hand-made tiny classifiers ----------------------------------------

WORDS = [
    "you",
    "are",
    "a",
    "an",
    "what",
    "stop",
    "it",
    "thank",
    "have",
    "nice",
    "day",
    "friend",
    "good",
    "job",
    "idiot",
    "moron",
    "fool",
]
INSULTS = {"idiot", "moron", "fool"}
HF_TOXIC = ["you are an idiot", "what a moron", "stop it fool", "idiot"]
HF_BENIGN = [
    "you are a friend",
    "thank you",
    "have a nice day friend",
    "good job",
    "",
    "you are a nice friend friend friend",
]


def _tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<unk>": 1, "<eos>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")


def _classifier(tok, num_labels=2, id2label=None, lm_head=False):
    """A 1-layer GPT-2 whose blocks add nothing (zero output projections) and without position
    embeddings: the last token's embedding alone, through ln_f and the head, makes the logits.
    Insults embed as (1, -1, 0...), other words as (-1, 1, 0...); after ln_f that is +-(2, -2)."""
    n = 8
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=32,
        n_embd=n,
        n_layer=1,
        n_head=2,
        num_labels=num_labels,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
        pad_token_id=None,
        **({"id2label": id2label} if id2label else {}),
    )
    model = (GPT2LMHeadModel if lm_head else GPT2ForSequenceClassification)(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        t = model.transformer
        t.ln_f.weight.fill_(1.0)
        for block in t.h:
            block.ln_1.weight.fill_(1.0)
            block.ln_2.weight.fill_(1.0)
        vocab = tok.get_vocab()
        for word, i in vocab.items():
            t.wte.weight[i, :2] = torch.tensor([1.0, -1.0] if word in INSULTS else [-1.0, 1.0])
        if not lm_head:
            toxic = torch.tensor([1.0, -1.0] + [0.0] * (n - 2))
            if num_labels == 1:
                model.score.weight[0] = toxic
            else:  # label 1 is toxic, label 0 the opposite
                model.score.weight[0], model.score.weight[1] = -toxic, toxic
    return model


def _save(model, tok, path):
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def tok():
    return _tokenizer()


@pytest.fixture(scope="module")
def two_label_dir(tok, tmp_path_factory):
    return _save(_classifier(tok, id2label={0: "non-toxic", 1: "toxic"}), tok, tmp_path_factory.mktemp("tox2"))


def test_hf_backend_loads_by_path_and_scores(two_label_dir, one_torch_thread):
    v = from_spec(two_label_dir)
    assert isinstance(v.classifier, HFClassifier) and v.classifier.toxic == [1] and v.classifier.mode == "softmax"
    outputs = HF_TOXIC + HF_BENIGN
    scores = v([{}] * len(outputs), outputs)
    # softmax of (-4, 4): p(toxic) = sigmoid(8) = 0.99966 for an insult last, 0.00034 otherwise
    expected_low = 1 - torch.sigmoid(torch.tensor(8.0)).item()
    for s in scores[: len(HF_TOXIC)]:
        assert s.value == pytest.approx(expected_low, abs=1e-4)
        assert s.feedback == "toxicity 1.00" and s.answer is None
    for s in scores[len(HF_TOXIC) :]:
        assert s.value == pytest.approx(1 - expected_low, abs=1e-4)
        assert s.feedback == "not toxic (0.00)"


def test_hf_backend_batches_and_pads_without_changing_scores(two_label_dir, one_torch_thread):
    outputs = HF_TOXIC + HF_BENIGN
    batched = from_spec(two_label_dir + ",batch_size=3")([{}] * len(outputs), outputs)
    single = ToxicityValue(HFClassifier.from_pretrained(two_label_dir, batch_size=1))([{}] * len(outputs), outputs)
    assert [s.value for s in batched] == pytest.approx([s.value for s in single], abs=1e-6)


def test_hf_backend_label_override(two_label_dir, one_torch_thread):
    v = from_spec(two_label_dir + ",label=non-toxic,threshold=0.9")
    assert v.classifier.toxic == [0] and v.threshold == 0.9
    [insult, friend] = v([{}, {}], ["you are an idiot", "you are a friend"])
    assert insult.value > 0.99 and friend.value < 0.01  # the meaning is flipped
    assert from_spec(two_label_dir + ",label=0").classifier.toxic == [0]


def test_hf_backend_single_logit_uses_sigmoid(tok, tmp_path, one_torch_thread):
    path = _save(_classifier(tok, num_labels=1), tok, tmp_path / "one")
    v = from_spec(path)
    assert v.classifier.mode == "sigmoid"
    [insult, friend] = v([{}, {}], ["what a moron", "have a nice day"])
    p = torch.sigmoid(torch.tensor(4.0)).item()  # logit +-4
    assert insult.value == pytest.approx(1 - p, abs=1e-4) and friend.value == pytest.approx(p, abs=1e-4)
    assert insult.feedback == f"toxicity {p:.2f}"


def test_hf_backend_unnamed_labels_mean_index_1(tok, tmp_path, one_torch_thread):
    path = _save(_classifier(tok), tok, tmp_path / "unnamed")  # LABEL_0, LABEL_1
    [insult] = from_spec(path)([{}], ["you are an idiot"])
    assert insult.value < 0.01


def test_hf_backend_errors(tok, tmp_path):
    with pytest.raises(ValueFunctionError, match=r"^toxicity model path '/no/such/dir' does not exist$"):
        from_spec("/no/such/dir")
    with pytest.raises(
        ValueFunctionError,
        match=r"could not load toxicity model 'no-such-org/no-such-model': not a local folder "
        r"and not reachable on the Hugging Face hub \(offline\?\)",
    ):
        from_spec("no-such-org/no-such-model")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueFunctionError, match="could not load toxicity model from"):
        from_spec(str(empty))
    lm = _save(_classifier(tok, lm_head=True), tok, tmp_path / "lm")
    with pytest.raises(
        ValueFunctionError, match=r"is not a sequence-classification checkpoint \(architecture GPT2LMHeadModel\)"
    ):
        from_spec(lm)
    labels = _save(
        _classifier(tok, num_labels=3, id2label={0: "positive", 1: "negative", 2: "neutral"}),
        tok,
        tmp_path / "sentiment",
    )
    with pytest.raises(ValueFunctionError, match="cannot tell which label"):
        from_spec(labels)
    with pytest.raises(ValueFunctionError, match="unknown option 'colour'"):
        from_spec(labels + ",colour=red")
