"""correct: a self-correction inference engine (Welleck et al., ICLR 2023)."""

__version__ = "0.1.0"
