"""Errors a user can cause in CAD: a wrong or damaged model, a volume the model can't read."""


class ModelError(ValueError):
    """A model or its manifest is unusable; the message names the file and what is wrong."""
