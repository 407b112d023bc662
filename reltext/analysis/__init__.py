"""Analyses of the reviewed codings: relational ``balance`` and SOS profiles, ``cooccurrence``,
``interactants`` (who is talked about), relational ``webs``, quotes (``segments``), the
``figures`` and the project ``report`` built from them all.
"""
