"""The review viewer: a Streamlit app over :mod:`reltext.review.decisions` (``reltext view``).

:mod:`.markup` builds the escaped HTML of turns and spans, :mod:`.pages` holds one
``render_*`` function per page, and :mod:`.app` lays the pages out for a browser session.
"""
