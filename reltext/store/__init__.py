"""The project database: the only package that speaks SQL.

``database`` opens the SQLite file (or a database server), runs the ``migrations`` and holds
the queries, one section per table family: transcripts and turns, codings, decisions and
answers, codebooks, runs, models, embeddings and topics. A coding's review state is read from
the ``reviewer_states`` and ``coding_states`` views (migration m0006), never worked out again.
"""
