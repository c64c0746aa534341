"""The corrector: the inference core (model and its input layouts, pool, pairing, refinement,
metrics) at the top, ``training/`` and the application layer ``app/`` beneath (docs/design.md)."""

from .model import Corrector, CorrectorConfig
from .pairing import Pair, sample_pairs, target_distribution
from .pool import Draft, Pool
from .refine import Step, refine, self_consistency

__all__ = [
    "Corrector",
    "CorrectorConfig",
    "Draft",
    "Pair",
    "Pool",
    "Step",
    "refine",
    "sample_pairs",
    "self_consistency",
    "target_distribution",
]
