"""Pydantic models of what crosses the pipeline's boundaries."""
