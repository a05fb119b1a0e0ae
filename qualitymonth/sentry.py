"""Error reporting to Sentry (or a compatible service such as GlitchTip), when SENTRY_DSN is set."""


def init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    """Reports unhandled errors of requests and Celery tasks, and error log lines. No personal
    data: no cookies, no user's email or address (send_default_pii off); the request id is a tag."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
