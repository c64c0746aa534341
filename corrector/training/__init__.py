"""Training a corrector: the self-corrective loop (``loop.py``), its settings (``config.py``),
the methods' rows and losses, resume, distributed launch, logs; the sft of the tiny base
generators and reward-model training. The heavy modules are imported where they are used."""
