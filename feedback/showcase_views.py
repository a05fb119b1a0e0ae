"""The public showcase of typical cases (placeholder until written)."""

urlpatterns = []
