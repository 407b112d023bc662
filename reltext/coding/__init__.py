"""Coding turns: the codebook, the coders that apply it, and the batch runs that drive them.

``codebook`` loads and checks codebooks (YAML, REFI-QDA ``.qdc``); ``nlp`` loads the spaCy
pipeline; ``coders`` holds every coder (the rules, the learned classifier, the relational
model), each coding a batch of turns through ``code_turns``; ``batch`` runs a coder over a
project's uncoded turns in processes or on Dask, resumably; ``encoders`` finds the installed
transformer encoders.
"""
