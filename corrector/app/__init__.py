"""The application layer: options turned into runs (``correct generate``, ``train``,
``serve``), evaluation and model cards, reports. It sits on top of the engine and is never
imported by it."""
