"""The private storage (complaint evidence, unpublished feedback media) as one object that
always delegates to the current ``STORAGES["private"]``."""

from django.core.files.storage import Storage, storages


class PrivateStorage(Storage):
    """A stand-in for ``storages["private"]``, looked up on every use.

    File fields evaluate their storage once, when the model class is made; delegating on every
    attribute keeps them on the configured backend even when the setting changes later (in tests,
    or in a deployment that swaps the backend at start-up)."""

    def __getattribute__(self, name):
        if name.startswith("__") or name == "deconstruct":
            return object.__getattribute__(self, name)
        return getattr(storages["private"], name)


PRIVATE_STORAGE = PrivateStorage()


def private_storage() -> Storage:
    """For ``FileField(storage=private_storage)``; a callable, so migrations do not record the
    backend."""
    return PRIVATE_STORAGE
