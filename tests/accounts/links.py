"""Reading the links our emails contain, as a person clicking them would."""

import re

from django.conf import settings

_URL = re.compile(r"https?://\S+")


def links_in(message) -> list[str]:
    """The site-relative paths of the portal links in an email's body."""
    return [
        url.removeprefix(settings.SITE_URL)
        for url in _URL.findall(message.body)
        if url.startswith(settings.SITE_URL)
    ]


def link_in(message, prefix: str) -> str:
    """The one link in `message` whose path starts with `prefix`."""
    found = [path for path in links_in(message) if path.startswith(prefix)]
    assert len(found) == 1, (prefix, links_in(message))
    return found[0]
