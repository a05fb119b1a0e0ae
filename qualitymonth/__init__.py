# Celery is optional at import time: web processes run tasks eagerly without a broker.
from .celery import app as celery_app

__all__ = ("celery_app",)
