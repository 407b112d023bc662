"""The project database: the only package that speaks SQL.

``database`` opens the project's SQLite file, runs the ``migrations`` and holds
``Store``, the composition of the query modules, one per table family: ``transcripts``
(transcripts and turns), ``codings`` (codings, coded-turn marks, codebooks), ``decisions``
(decisions, answers, the review queue) and ``runs`` (runs, models, embeddings, topics);
``sql`` holds what they share. A coding's review state is read from the ``reviewer_states``
and ``coding_states`` views (migration m0006), never worked out again.
"""
