"""Test-only switches, and the system check that refuses them in production.

- ``BENCH_VIEWS``: mounts the bare views the benchmarks compare against (`bench_views`).
- ``SIGNUP_CAPACITY_GUARD = False``: switches off the capacity guard of sign-ups
  (`registrations.services._take_seat`), so that bench/signup_burst.py can show that its
  harness sees an oversold activity.

settings.py never reads them from the environment in production mode; this check also catches
a settings module that sets them there (``manage.py check --deploy``, ``migrate``).
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def refuse_test_switches_in_production(app_configs, **kwargs):
    if not getattr(settings, "PRODUCTION", False):
        return []
    errors = []
    if getattr(settings, "BENCH_VIEWS", False):
        errors.append(
            checks.Error(
                "BENCH_VIEWS is on in production mode.",
                hint="The benchmark views are for bench/ only: remove BENCH_VIEWS.",
                id="qualitymonth.E101",
            )
        )
    if not getattr(settings, "SIGNUP_CAPACITY_GUARD", True):
        errors.append(
            checks.Error(
                "SIGNUP_CAPACITY_GUARD is off in production mode: activities would be oversold.",
                hint="It is a benchmark's negative control only: remove SIGNUP_CAPACITY_GUARD.",
                id="qualitymonth.E102",
            )
        )
    return errors
