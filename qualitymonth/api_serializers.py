"""The base of the API's model serializers.

DRF's `ModelSerializer` works out its fields from the model (field classes, their arguments,
validators) every time one is made: for each object of a list and each nested serializer. Here
that happens once per class, and each serializer gets copies of the result, as DRF gives every
serializer copies of its declared fields. A model serializer's fields depend only on its class
(Meta, declared fields), never on the request, so all of them can share it; one that chose its
fields per request would override `get_fields` itself.
"""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        cls = type(self)
        fields = cls.__dict__.get("_portal_fields")
        if fields is None:
            # Two threads may both work it out the first time: the same result, kept once.
            fields = super().get_fields()
            cls._portal_fields = fields
        return copy.deepcopy(fields)
