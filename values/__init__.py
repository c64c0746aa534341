"""Value functions: score a batch of outputs, higher is better, with optional feedback.

The protocol and the Score type are in ``base``; names (built-ins, entry points, user code)
are resolved by ``registry.load_value``. See docs/tasks-and-values.md.
"""

from .base import Score, Value, ValueFunctionError, describe_error, first_line, parse_options, record_name, text_of
from .registry import VALUES, CallableValue, as_scores, describe_values, load_value

__all__ = [
    "VALUES",
    "CallableValue",
    "Score",
    "Value",
    "ValueFunctionError",
    "as_scores",
    "describe_error",
    "describe_values",
    "first_line",
    "load_value",
    "parse_options",
    "record_name",
    "text_of",
]
