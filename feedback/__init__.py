"""Feedback reports (issue 5): summaries, cases and their media."""
