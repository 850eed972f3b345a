"""The version of bayesmix, in one place: modules and ``pyproject.toml`` read it here."""

__version__ = "0.1.0.dev0"
