"""Behaviour of the toxicity, reward-model, hf, inflection and registry modules that no other
test pinned down: each test here failed against a plausible change of the code (a flipped
comparison, a dropped clamp or condition) that the rest of the suite let through."""

from __future__ import annotations

import math

import pytest
import torch

from correct.values import Score, ValueFunctionError
from correct.values.toxicity import ToxicityValue, from_spec, toxic_labels

from .test_toxicity import _classifier, _save, _tokenizer


class Fixed:
    """A classifier that says the probabilities it is given, and names ``words`` as offensive."""

    def __init__(self, *probabilities: float, words: tuple[str, ...] = ()):
        self.probs, self.words = list(probabilities), list(words)

    def probabilities(self, texts):
        return list(self.probs)

    def offensive_words(self, text, threshold):
        return self.words


# --------------------------------------------------------------------------- toxicity: the value


def test_a_probability_at_the_threshold_is_toxic_and_a_threshold_of_1_is_allowed():
    """``threshold`` is "at or above": a draft at exactly 0.5 is flagged, and 1.0 is a threshold
    a user may give (only certainty is toxic)."""
    assert ToxicityValue(Fixed(0.5))([{}], ["x"]) == [Score(0.5, "toxicity 0.50")]
    certain, likely = ToxicityValue(Fixed(1.0, 0.99), threshold=1.0)([{}, {}], ["x", "y"])
    assert certain == Score(0.0, "toxicity 1.00")
    assert likely.value == pytest.approx(0.01) and likely.feedback == "not toxic (0.99)"


def test_a_classifier_past_0_or_1_is_clamped_into_the_values_range():
    """A score outside [min_value, max_value] would count as better than solved, or below zero."""
    assert ToxicityValue(Fixed(1.5, -0.5))([{}, {}], ["x", "y"]) == [
        Score(0.0, "toxicity 1.00"),
        Score(1.0, "not toxic (0.00)"),
    ]


def test_a_classifier_that_returns_nan_or_too_few_probabilities_is_refused():
    with pytest.raises(ValueFunctionError, match=r"the classifier returned nan for output 1"):
        ToxicityValue(Fixed(0.1, float("nan")))([{}, {}], ["x", "y"])
    with pytest.raises(ValueFunctionError, match=r"returned 1 probabilities for 2 outputs"):
        ToxicityValue(Fixed(0.1))([{}, {}], ["x", "y"])


def test_feedback_names_at_most_five_offensive_words():
    """The feedback goes into the corrector's prompt: a list of every word would flood it."""
    value = ToxicityValue(Fixed(0.9, words=tuple("abcdefg")))
    assert value([{}], ["x"])[0].feedback == "toxicity 0.90: offensive words: a, b, c, d, e"


# --------------------------------------------------------------------------- toxicity: default classifier


@pytest.fixture(scope="module")
def profanity():
    pytest.importorskip("profanity_check", reason="alt-profanity-check is not installed")
    return from_spec(None).classifier


def test_disguises_are_read_as_the_longest_offensive_word_and_a_ratio_of_0_8_counts(profanity):
    assert profanity.reading("cowardlyzz") == "cowardly"  # not "coward" + "lyzz"
    # "stpd" is 4 letters, spelled like "stupid" at a difflib ratio of exactly 0.8.
    assert profanity.reading("stpd") == "stupid"


def test_a_word_exactly_at_the_threshold_is_named(profanity):
    p = profanity._raw(["idiot"])[0]
    assert profanity.offensive_words("you idiot", p) == ["idiot"]
    assert profanity.offensive_words("you idiot", p + 1e-9) == []


# --------------------------------------------------------------------------- toxicity: labels and heads


def test_a_label_index_past_the_last_is_refused():
    with pytest.raises(ValueFunctionError, match="has no label 2"):
        toxic_labels({0: "non-toxic", 1: "toxic"}, 2, label="2")


def test_two_negated_labels_tell_nothing():
    with pytest.raises(ValueFunctionError, match="cannot tell which label"):
        toxic_labels({0: "non-toxic", 1: "not offensive"}, 2)


@pytest.fixture(scope="module")
def tok():
    return _tokenizer()


@pytest.mark.parametrize("multi_label", [False, True])
def test_several_toxic_labels_add_up_or_take_the_largest(tok, tmp_path, multi_label, one_torch_thread):
    """Labels neither/offensive/hate with logits (-4, 4, 0) after an insult, (4, -4, 0) after any
    other word: a softmax head adds P(offensive) + P(hate); a multi-label head takes the larger
    sigmoid (a sum of sigmoids passes 1)."""
    model = _classifier(tok, num_labels=3, id2label={0: "neither", 1: "offensive", 2: "hate"})
    if multi_label:
        model.config.problem_type = "multi_label_classification"
    value = from_spec(_save(model, tok, tmp_path / "three"))
    assert value.classifier.toxic == [1, 2]
    insult, friend = (torch.tensor(x) for x in ([-4.0, 4.0, 0.0], [4.0, -4.0, 0.0]))
    if multi_label:
        expected = [torch.sigmoid(x[1:]).max().item() for x in (insult, friend)]
    else:
        expected = [torch.softmax(x, -1)[1:].sum().item() for x in (insult, friend)]
    scores = value([{}, {}], ["you are an idiot", "you are a friend"])
    assert [1 - s.value for s in scores] == pytest.approx(expected, abs=1e-4)


def test_a_text_longer_than_the_model_is_truncated(tok, tmp_path, one_torch_thread):
    value = from_spec(_save(_classifier(tok), tok, tmp_path / "short"))  # 32 positions
    [score] = value([{}], [" ".join(["friend"] * 100)])
    assert score.value > 0.99


# --------------------------------------------------------------------------- reward-model and hf


@pytest.fixture(scope="module")
def rm_tok():
    from correct.corrector.training.tiny import build_tokenizer

    from .test_reward import OUTPUTS, PROMPTS

    return build_tokenizer([p + o for p, o in zip(PROMPTS, OUTPUTS)] * 20, vocab_size=300)


@pytest.fixture(scope="module")
def rm_dir(rm_tok, tmp_path_factory):
    from .test_reward import _classifier as reward_classifier

    path = tmp_path_factory.mktemp("rm")
    reward_classifier(rm_tok).save_pretrained(path)
    rm_tok.save_pretrained(path)
    return str(path)


def test_a_tokenizer_without_any_pad_token_scores_one_text_at_a_time(one_torch_thread):
    """No pad token and no EOS to pad with: a batch of two cannot be padded, so one by one."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    from correct.values.reward import RewardModelValue

    words = Tokenizer(models.WordLevel({"<unk>": 0, "a": 1, "b": 2, "c": 3}, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="<unk>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=4, n_positions=16, n_embd=8, n_layer=1, n_head=2, num_labels=1, pad_token_id=None)
    value = RewardModelValue(GPT2ForSequenceClassification(config), tok, batch_size=16, device="cpu")
    assert value.batch_size == 1
    records = [{"prompt": "a"}, {"prompt": "a b c"}]
    together = [s.value for s in value(records, ["b", "c a"])]
    assert together == pytest.approx([value([r], [o])[0].value for r, o in zip(records, ["b", "c a"])], abs=1e-6)


def test_a_reward_model_that_returns_nan_is_refused(rm_dir, one_torch_thread):
    from correct.values.reward import RewardModelValue

    value = RewardModelValue.from_pretrained(rm_dir)
    with torch.no_grad():
        value.model.score.weight.fill_(float("nan"))
    with pytest.raises(ValueFunctionError, match="the model returned nan for output 0"):
        value([{"prompt": "1+1="}], ["2"])


def test_options_without_a_model_are_refused():
    from correct.values.reward import from_spec as reward_spec

    with pytest.raises(ValueFunctionError, match=r"^value reward-model:batch_size=2: no model given"):
        reward_spec("batch_size=2")


def test_a_pair_exactly_as_long_as_the_limit_is_not_cut(rm_tok):
    from correct.values.reward import PairEncoder

    whole = PairEncoder(rm_tok, None)("1+1=", "2")
    ids, cut = PairEncoder(rm_tok, len(whole)).encode("1+1=", "2")
    assert (ids, cut) == (whole, False)
    ids, cut = PairEncoder(rm_tok, len(whole) - 1).encode("1+1=", "2")
    assert cut and len(ids) == len(whole) - 1 and ids[-1] == rm_tok.eos_token_id


def test_the_pad_token_reaches_a_multimodal_models_text_config(rm_tok):
    """A model whose config holds a text config of its own: both learn which token pads."""
    from types import SimpleNamespace

    from correct.values.reward import prepare_tokenizer

    text = SimpleNamespace(pad_token_id=None)
    outer = SimpleNamespace(pad_token_id=None, get_text_config=lambda: text)
    prepare_tokenizer(rm_tok, SimpleNamespace(config=outer))
    assert text.pad_token_id == outer.pad_token_id == rm_tok.pad_token_id


def test_a_refused_checkpoint_is_named_as_such_not_as_a_failed_load(rm_tok, tmp_path):
    """A refusal raised while loading is the user's answer as it is, not wrapped in "could not load"."""
    from correct.corrector.training.tiny import build_model
    from correct.values.reward import RewardModelValue

    path = tmp_path / "lm"
    build_model(rm_tok, n_layer=1, n_embd=32).save_pretrained(path)
    rm_tok.save_pretrained(path)
    with pytest.raises(ValueFunctionError, match=r"^reward model '.*' is not a sequence-classification checkpoint"):
        RewardModelValue.from_pretrained(str(path))


def test_loading_puts_transformers_logging_back_and_takes_auto_and_named_dtypes(rm_dir, one_torch_thread):
    from transformers.utils import logging as hf_logging

    from correct.values.hf import resolve_dtype
    from correct.values.reward import RewardModelValue

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()
    try:
        RewardModelValue.from_pretrained(rm_dir, dtype="auto")
        assert hf_logging.get_verbosity() == hf_logging.WARNING
    finally:
        hf_logging.set_verbosity(before)
    assert RewardModelValue.from_pretrained(rm_dir, dtype="bfloat16").model.dtype == torch.bfloat16
    with pytest.raises(ValueFunctionError, match="unknown dtype 'Tensor'"):
        resolve_dtype("Tensor", "reward model")


def test_a_config_without_architectures_still_loads(rm_dir, tmp_path, one_torch_thread):
    """``architectures`` is optional in a config.json (hand-written ones leave it out)."""
    import json
    import shutil

    from correct.values.reward import RewardModelValue

    path = tmp_path / "noarch"
    shutil.copytree(rm_dir, path)
    config = json.loads((path / "config.json").read_text())
    del config["architectures"]
    (path / "config.json").write_text(json.dumps(config))
    assert math.isfinite(RewardModelValue.from_pretrained(str(path))([{"prompt": "1+1="}], ["2"])[0].value)


def test_right_padding_masks_the_padding():
    from correct.values.hf import pad_right

    batch = pad_right([[5, 6, 7], [8]], 0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_the_context_is_the_smallest_of_the_models_the_tokenizers_and_the_asked_limit():
    from types import SimpleNamespace

    from correct.values.hf import context_length

    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=514))
    assert context_length(model, SimpleNamespace(model_max_length=512)) == 512  # RoBERTa reserves 2
    assert context_length(model, SimpleNamespace(model_max_length=int(1e30)), 100) == 100
    assert context_length(model, SimpleNamespace(model_max_length=int(1e30))) == 514
    # transformers' "no limit" (1e30) is no limit: None, as when nothing says
    assert (
        context_length(SimpleNamespace(config=SimpleNamespace()), SimpleNamespace(model_max_length=int(1e30))) is None
    )


# --------------------------------------------------------------------------- inflection


@pytest.mark.parametrize(
    "concept, text",
    [
        ("quit", "quitting"),  # the u of "qu" is a consonant: quit ends consonant-vowel-consonant
        ("quiz", "two quizzes"),
        ("bus", "two busses"),  # a doubled s, as the text may spell it
        ("bus", "they bused"),
        ("bus", "they bussed"),
        ("fuel", "fuelled"),
        ("dial", "she dialled"),
        ("eye", "eyeing"),
        ("dye", "dyeing"),
        ("age", "ageing"),
        ("arc", "it arced"),
        ("relay", "relayed"),  # not re + lay: the regular forms of a prefixed irregular too
        ("output", "outputted"),
    ],
)
def test_more_inflections(concept, text):
    from correct.values.constraints import covered

    assert covered([concept], text) == [True]


def test_a_chat_template_that_writes_the_bos_token_gets_no_second_one(rm_tok):
    """A tokenizer that adds BOS itself (Llama-like), under a chat template that writes it: the
    rendered text is tokenized without the tokenizer's special tokens, so BOS appears once."""
    import copy

    from tokenizers import processors

    from correct.values.reward import PairEncoder

    tok = copy.deepcopy(rm_tok)
    bos = tok.bos_token
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", special_tokens=[(bos, tok.bos_token_id)]
    )
    tok.chat_template = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    assert tok("x")["input_ids"][0] == tok.bos_token_id  # the tokenizer adds one of its own
    ids = PairEncoder(tok, None)("1+1=", "2")
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id
    # Without the template, a text cut to fit loses its oldest tokens but keeps the BOS before them.
    tok.chat_template = None
    ids, cut = PairEncoder(tok, 8).encode("1+1= " * 20, "2")
    assert cut and len(ids) == 8 and ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id


# --------------------------------------------------------------------------- registry


def test_program_specs_name_what_is_wrong_and_a_named_timeout_wins():
    from correct.values import load_value

    with pytest.raises(ValueFunctionError, match=r"unknown option 'fast'; options are timeout, .* or a timeout in"):
        load_value("program:fast")
    with pytest.raises(ValueFunctionError, match="isolation must be one of auto, namespaces"):
        load_value("program:isolation=chroot")
    with load_value("program:2,timeout=5") as value:
        assert value.timeout == 5.0


def test_a_user_values_declared_minimum_is_its_floor():
    from correct.values import CallableValue

    def signed(records, outputs):
        return [-0.5 for _ in outputs]

    with pytest.raises(ValueFunctionError, match=r"returned -0.5 for output 0, outside its range \[0.0, 1.0\]"):
        CallableValue(signed, "signed")([{}], ["x"])
    signed.min_value = -1.0
    value = CallableValue(signed, "signed")
    assert value.min_value == -1.0 and value([{}], ["x"]) == [Score(-0.5)]


def test_a_user_value_that_returns_a_mapping_is_refused():
    from correct.values import CallableValue

    value = CallableValue(lambda records, outputs: {o: 1.0 for o in outputs}, "by_text")
    with pytest.raises(ValueFunctionError, match="returned dict, expected a list of 2 scores"):
        value([{}, {}], ["x", "y"])


def test_a_missing_package_of_a_dotted_module_is_said_to_be_missing():
    from correct.values import load_value

    with pytest.raises(ValueFunctionError, match=r"no module named 'nosuchpackage\.scoring' \(is it installed"):
        load_value("nosuchpackage.scoring:score")


def test_a_value_error_names_the_value_setting():
    """The command line appends "(option --value)" to an error that names its setting."""
    from correct.values import load_value

    with pytest.raises(ValueFunctionError) as e:
        load_value("nosuchvalue")
    assert e.value.option == "value"


def test_a_folder_without_the_module_leaves_the_module_already_imported_alone(tmp_path):
    """Only a folder that holds ``top.py`` replaces an imported ``top``: for any other, the
    module imported before (and every object made from it) stays the one in use."""
    import json
    import sys

    from correct.values.registry import importable_from

    decoder = sys.modules["json.decoder"]
    try:
        importable_from(tmp_path, "json:loads")
        assert sys.modules["json"] is json and sys.modules["json.decoder"] is decoder
    finally:
        sys.path.remove(str(tmp_path))


def test_a_callable_without_a_signature_is_taken_on_trust():
    """Some builtins have no signature to check: their first call tells, not their loading."""
    from correct.values import CallableValue

    assert CallableValue(max, "max").fn is max
