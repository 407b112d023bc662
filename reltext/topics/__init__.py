"""Emergent themes: BERTopic topics over turns (``fitting``), set against the codebook
(``codes``) and shown as tables and plots (``views``).
"""
