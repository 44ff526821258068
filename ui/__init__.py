"""The dashboard's building blocks (Streamlit code); the library in ``emotion/`` stays free of it."""
