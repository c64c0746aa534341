"""Behaviour of the corrector's input templates (corrector/layouts.py, corrector/model.py) and
of the embedding similarity that a mutation audit found no test holding: each test here
failed with a one-line change to the source applied."""

from __future__ import annotations

import json

import pytest

from correct.corrector.layouts import TEMPLATES, corrector_input, template_problem
from correct.corrector.model import CorrectorConfig
from correct.generators import GeneratorError


def test_an_unknown_template_name_is_a_generator_error_naming_the_known_ones():
    with pytest.raises(GeneratorError, match="unknown corrector template 'nope'; known: default, no-feedback"):
        corrector_input("nope", "q", "d", None)
    assert set(TEMPLATES) >= {"default", "no-feedback", "hindsight", "hir"}


@pytest.mark.parametrize("text, field", [("Q: {prompt}\n{draft!r}\n", "draft"), ("{prompt!s}{draft}", "prompt")])
def test_a_template_that_converts_a_field_is_refused(text, field, tmp_path):
    """``{draft!r}`` would show the draft quoted with its line breaks escaped: refused as a
    format is, also in a saved corrector's prompt_format."""
    assert template_problem(text) == f"writes {{{field}}} with a format or conversion; write it as {{{field}}}"
    (tmp_path / "correct_config.json").write_text(json.dumps({"prompt_format": text}))
    with pytest.raises(GeneratorError, match="prompt_format writes"):
        CorrectorConfig.load(tmp_path)


@pytest.mark.parametrize("text", ["Question: {}\n{draft}\n", "{0}{draft}"])
def test_a_template_with_a_positional_field_is_refused(text, tmp_path):
    """A ``{}`` or ``{0}`` has no value when the template is filled (an IndexError at the first
    correction, after the models loaded): it is named when the config is read."""
    assert template_problem(text).startswith("names the field ")
    (tmp_path / "correct_config.json").write_text(json.dumps({"prompt_format": text}))
    with pytest.raises(GeneratorError, match="prompt_format names the field"):
        CorrectorConfig.load(tmp_path)


def test_an_embedding_model_folder_that_cannot_be_loaded_is_a_similarity_error(tmp_path):
    """A folder whose model sentence-transformers refuses (an architecture transformers does
    not know: a ValueError) is one SimilarityError naming it, not a traceback."""
    pytest.importorskip("sentence_transformers")
    from correct.corrector.similarity import SimilarityError, load_similarity

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(SimilarityError, match=f"could not load embedding model '{tmp_path}'"):
        load_similarity(f"embedding:{tmp_path}")


def test_a_corrector_given_as_a_file_has_the_default_config(tmp_path):
    """A model file (a GGUF for a backend that reads one) has no folder to hold a
    correct_config.json and is no hub id: the default config, not "the hub cannot be reached"
    (``from_pretrained`` reads None as that)."""
    from correct.corrector.model import _find_config

    model = tmp_path / "corrector.gguf"
    model.write_bytes(b"GGUF")
    assert _find_config(str(model), "hf") == CorrectorConfig()
