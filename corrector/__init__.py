"""The corrector: pool of scored drafts, pairing sampler, training, exploration, refinement."""
