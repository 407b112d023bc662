"""Files for other tools: REFI-QDA projects out (``refi``) with GUIDs from one namespace
(``guids``), and the codings, turns and transcripts as tables (``tables``, ``spreadsheet``).
"""
