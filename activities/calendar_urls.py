"""The public campaign calendar and its iCalendar feeds, under /calendar/ (namespace "calendar")."""

import datetime as dt

from django.urls import path, register_converter

from . import calendar_views


class IsoDateConverter:
    """A day as YYYY-MM-DD; an impossible date (2024-02-30) does not match, so it is a 404."""

    # Years the campaign can have (1978-2100); 0001 or 9999 would overflow date arithmetic.
    regex = r"(?:19|20|21)\d{2}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(value) from error

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "calendar"

urlpatterns = [
    path("", calendar_views.month, name="month"),
    path("<isodate:day>/", calendar_views.day, name="day"),
    # iCalendar feeds: subscribe with webcal://, or download.
    path("activities.ics", calendar_views.feed, name="feed"),
    path(
        "arrangements/<int:number>.ics",
        calendar_views.feed_arrangement,
        name="feed_arrangement",
    ),
    path("regions/<str:code>.ics", calendar_views.feed_region, name="feed_region"),
    path("activities/<int:pk>.ics", calendar_views.activity_ics, name="activity_ics"),
]
