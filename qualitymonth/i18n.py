"""Bilingual reference data: Chinese is authoritative, English shown when the reader asks for it."""

from django.utils.translation import get_language


def reading_english() -> bool:
    return (get_language() or "zh-hans").lower().startswith("en")


def localized(obj, base: str) -> str:
    """`obj.<base>_en` for English readers when it is filled in, otherwise `obj.<base>_zh`."""
    if reading_english():
        english = getattr(obj, f"{base}_en", "")
        if english:
            return english
    return getattr(obj, f"{base}_zh", "")
