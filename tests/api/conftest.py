import pytest
from rest_framework.test import APIClient

from .world import World, build_world


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def api() -> APIClient:
    """An anonymous client."""
    return APIClient()
