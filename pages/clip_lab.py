"""Clip Lab: one clip, close up."""

import streamlit as st

from ui import signin

signin.require_frame()
st.title("Clip Lab")
