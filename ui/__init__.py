"""Streamlit and plotly glue: cached engine calls, sidebar filters, charts, tiles."""
