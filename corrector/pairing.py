"""The pairing sampler (docs/design.md, step 3):

    P[(x, y, y')] ∝ exp(α·(v(y') − v(y)) + β·s(y, y')) / Z(y)

over value-improving pairs v(y') − v(y) > ε (``min_gain``, 0 by default) of the same prompt
x; Z(y) normalises over the
candidate targets of one source y. Sources are drawn uniformly among drafts that have at
least one better target. A draft whose value is unknown (None) is never a source or a
target. Everything here is pure and seeded.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from .pool import Draft
from .similarity import edit_similarity

Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class Pair:
    prompt_id: str
    source: Draft
    target: Draft

    @property
    def identity(self) -> bool:
        return self.source.text == self.target.text


def target_distribution(
    source: Draft,
    candidates: Sequence[Draft],
    alpha: float,
    beta: float,
    similarity: Similarity = edit_similarity,
    min_gain: float = 0.0,
) -> list[tuple[Draft, float]]:
    """Probabilities over the candidates better than ``source`` by more than ``min_gain``
    (empty if there are none). With a continuous value, ``min_gain`` keeps the sampler from
    spending its pairs on near-equal drafts (a toxic draft rewritten into another toxic one).

    >>> a, b, c = Draft("p", "x = 1", 0.0), Draft("p", "x = 2", 1.0), Draft("p", "y = 9", 0.5)
    >>> [(d.text, round(p, 4)) for d, p in target_distribution(a, [a, b, c], alpha=1.0, beta=0.0)]
    [('x = 2', 0.6225), ('y = 9', 0.3775)]
    """
    if source.value is None:
        return []
    better = [t for t in candidates if t.value is not None and t.value - source.value > min_gain]
    if not better:
        return []
    logits = [alpha * (t.value - source.value) + beta * similarity(source.text, t.text) for t in better]
    top = max(logits)  # shift for numerical stability; Z(y) cancels it
    weights = [math.exp(l - top) for l in logits]
    z = sum(weights)
    return [(t, w / z) for t, w in zip(better, weights)]


def sample_pairs(
    drafts_by_prompt: Mapping[str, Sequence[Draft]],
    n: int,
    alpha: float,
    beta: float,
    seed: int,
    similarity: Similarity = edit_similarity,
    max_value: float | None = None,
    identity_share: float = 0.0,
    min_gain: float = 0.0,
    group: Callable[[str], str] | None = None,
) -> list[Pair]:
    """Draw ``n`` improving pairs, plus ``identity_share·n`` identity pairs (y*, y*) of drafts
    that reach ``max_value`` -- they teach the corrector to leave a good draft alone. With
    ``group`` (prompt id -> its task, in a mixture of tasks), each pair first draws a group
    uniformly among those that have a pair, then a source in it: a task whose generator is
    seldom right is not drowned by one where it often is."""
    rng = random.Random(seed)
    dists = []
    for pid in sorted(drafts_by_prompt):
        drafts = _unique(drafts_by_prompt[pid])
        for d in drafts:
            dist = target_distribution(d, drafts, alpha, beta, similarity, min_gain)
            if dist:
                dists.append((pid, d, dist))
    pairs = []
    groups = _groups(dists, group)
    if dists:
        for _ in range(n):
            pid, source, dist = rng.choice(groups[rng.choice(sorted(groups))] if groups else dists)
            target = rng.choices([t for t, _ in dist], weights=[p for _, p in dist])[0]
            pairs.append(Pair(pid, source, target))
    if identity_share > 0 and max_value is not None:
        tops = [d for pid in sorted(drafts_by_prompt) for d in _unique(drafts_by_prompt[pid]) if d.value >= max_value]
        top_groups = _groups([(d.prompt_id, d) for d in tops], group)
        for _ in range(round(identity_share * n) if tops else 0):
            d = rng.choice(top_groups[rng.choice(sorted(top_groups))])[1] if top_groups else rng.choice(tops)
            pairs.append(Pair(d.prompt_id, d, d))
    rng.shuffle(pairs)
    return pairs


def _groups(items: Sequence[tuple], group: Callable[[str], str] | None) -> dict[str, list[tuple]]:
    """``items`` (each starting with its prompt id) by group; empty without ``group``."""
    out: dict[str, list[tuple]] = {}
    for item in items if group else ():
        out.setdefault(group(item[0]), []).append(item)
    return out


def _unique(drafts: Sequence[Draft]) -> list[Draft]:
    """One draft per distinct text (the pool may hold the same text many times), among those
    whose value is known."""
    seen: dict[str, Draft] = {}
    for d in drafts:
        if d.value is not None:
            seen.setdefault(d.text, d)
    return list(seen.values())
