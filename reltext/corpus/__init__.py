"""The corpus: transcripts in, as turns with their speakers and metadata.

``readers`` turn files (text, captions, Word, PDF, spreadsheets, REFI-QDA projects) into
transcripts; ``manifest`` reads the participants' metadata; ``ingest`` stores new and changed
transcripts; ``pseudonymise`` rewrites names in place, offsets and codings kept.
"""
