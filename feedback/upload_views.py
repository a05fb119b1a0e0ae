"""Uploads and media serving (placeholder until written)."""

urlpatterns = []
