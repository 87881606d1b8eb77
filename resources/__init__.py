"""Data shipped with Crescent (models, lexicon, hanging protocols, icons).

Installed as the package ``crescent_resources``; find files with
``importlib.resources.files("crescent_resources") / "..."``.
"""
