"""Behaviour the rest of the suite left unpinned, found by mutating the generator modules
(sampling, chunked, prefix, base): each test here fails with one such change applied."""

from __future__ import annotations

import math

import pytest
import torch

from correct.generators import sampling


class Fixed:
    """A row's stream of random numbers that gives the numbers asked for."""

    def __init__(self, *numbers: float):
        self.numbers = list(numbers)

    def random(self) -> float:
        return self.numbers.pop(0)


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("u", [1 - 2**-30, 1 - 2**-53])
def test_a_draw_at_the_top_of_the_unit_interval_never_takes_a_token_of_probability_0(u):
    """``random()`` gives numbers up to 1 - 2**-53, which float32 rounds to 1.0: the draw must
    still land on a token of positive probability, not on the vocabulary's last token."""
    scores = torch.tensor([[2.0, 1.0, 0.5, -float("inf"), -float("inf")]])
    sampler = sampling.RowSampler([0], temperature=1.0)
    sampler.streams = [Fixed(u)]
    assert int(sampler(None, scores).argmax(-1)[0]) == 2
    nucleus = sampling.RowSampler([0], temperature=1.0, top_p=0.5)  # the first token alone
    nucleus.streams = [Fixed(u)]
    assert int(nucleus(None, scores).argmax(-1)[0]) == 0


def test_a_draw_near_the_top_stays_off_a_token_of_probability_0_when_the_cdf_sums_short():
    """Half a million tokens of probability 1.1 * 2**-24 each: float32's running sum of them
    ends 0.3% short of 1, and a draw of 0.999 must be scaled to that sum, not taken as it is."""
    vocab = 1 << 19
    scores = torch.full((1, vocab), math.log(1.1 * 2**-24))
    scores[0, 0], scores[0, -1] = 0.0, -float("inf")
    cdf = torch.softmax(scores, -1).cumsum(-1)
    assert cdf[0, -1] < 0.999  # what makes the scaling matter
    sampler = sampling.RowSampler([0], temperature=1.0)
    sampler.streams = [Fixed(0.999)]
    # 0.999 of the sum falls some 15,000 tokens before the run's end; unscaled, past its end
    assert int(sampler(None, scores).argmax(-1)[0]) < vocab - 1000
