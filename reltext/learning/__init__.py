"""Learning from the team: training coders on the project's labels and asking what to label.

``training`` fits, saves and loads the learned coder from human codings, review decisions and
answers; ``adaptation`` adapts the shipped relational model to the same labels;
``relational_training`` trains the relational model itself (``reltext train --base``);
``questions`` picks the turns the learned coder is least sure of; ``embeddings`` caches
sentence vectors.
"""
