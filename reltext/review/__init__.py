"""Review: people's decisions on the auto-codes, and what they leave standing.

``decisions`` is the queue, the append-only decisions with undo, the answers, and each
reviewer's view; a coding's state is its standing decision, read from the store's
``coding_states``/``reviewer_states`` views. ``effective`` gives the codings as reviewed
(the analyses' input); ``agreement`` scores raters against each other; ``gold`` reads
gold-standard codings.
"""
