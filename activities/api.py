def register(router):
    """Add this app's endpoints to /api/v1/."""
