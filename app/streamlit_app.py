"""The reltext review viewer: ``reltext view``, or ``streamlit run app/streamlit_app.py``."""

from reltext.viewer.app import main

main()
