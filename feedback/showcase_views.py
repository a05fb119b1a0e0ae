"""The public showcase of typical cases (典型案例); the reviewers publish and unpublish them.

Only published cases are shown, to everyone alike (reviewers see unpublished cases on the review
pages). The list reads a fixed number of queries whatever the number of cases: the filter
choices, the count, the page of cases and their pictures and videos (prefetched). Anonymous
visitors may get the whole list page from the cache; publishing or unpublishing a case bumps the
showcase's generation (``services._drop_showcase_cache``), which is part of the cache key.
"""

import hashlib
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from activities.enums import RegionLevel
from activities.models import KeyArrangement, Region
from activities.public_views import region_path
from qualitymonth.errors import DomainError

from . import services
from .enums import MediaKind, MediaState
from .models import FeedbackMedia, TypicalCase
from .selectors import cases_published

PER_PAGE = 12
ID_MAX = 2**63 - 1
EXCERPT_CHARS = 120
REASON_MAX_CHARS = 500
GENERATION_KEY = "feedback:showcase:generation"  # bumped by services._drop_showcase_cache


# --- reads --------------------------------------------------------------------------------------


def showcase_cases(**filters) -> QuerySet[TypicalCase]:
    """Published cases (``filters`` as for ``selectors.cases_published``), with what a card or the
    case's page shows, and their pictures and videos (failed ones left out) prefetched as
    ``case.gallery``, in their order."""
    media = (
        FeedbackMedia.objects.filter(kind__in=(MediaKind.PICTURE, MediaKind.VIDEO))
        .exclude(state=MediaState.FAILED)
        .only(
            "id",
            "case_id",
            "kind",
            "content_type",
            "original_name",
            "caption",
            "size",
            "width",
            "height",
            "duration",
            "file",
            "thumbnail",
            "web_copy",
            "poster",
            "state",
            "position",
            "created_at",
        )
        .order_by("position", "created_at")
    )
    return (
        cases_published(**filters)
        .select_related("region__parent__parent")
        .prefetch_related(Prefetch("media", queryset=media, to_attr="gallery"))
    )


def media_url(media: FeedbackMedia, variant: str) -> str:
    """The address of one of a medium's files ("original", "thumbnail", "web", "poster"), or ""."""
    return media.url(variant) or ""


def _dress_media(media: FeedbackMedia) -> None:
    """What the templates show of a picture or video. A picture still being processed shows its
    original; a video without a poster frame plays without one."""
    media.alt = media.caption or media.original_name
    media.original_url = media_url(media, "original")
    if media.kind == MediaKind.PICTURE:
        media.thumb_url = media_url(media, "thumbnail") if media.thumbnail else media.original_url
        media.web_url = media_url(media, "web") if media.web_copy else media.original_url
    else:
        media.poster_url = media_url(media, "poster") if media.poster else ""
        # Processing makes a thumbnail of the poster frame for the cards.
        media.thumb_url = media_url(media, "thumbnail") if media.thumbnail else media.poster_url


def dress_case(case: TypicalCase) -> TypicalCase:
    """Attach the pictures, videos, cover and place a card or the case's page shows."""
    gallery = getattr(case, "gallery", [])
    for media in gallery:
        _dress_media(media)
    case.pictures = [m for m in gallery if m.kind == MediaKind.PICTURE]
    case.videos = [m for m in gallery if m.kind == MediaKind.VIDEO]
    case.cover_url = ""
    if case.pictures:
        case.cover_url, case.cover_alt = case.pictures[0].thumb_url, case.pictures[0].alt
    elif any(v.thumb_url for v in case.videos):
        video = next(v for v in case.videos if v.thumb_url)
        case.cover_url, case.cover_alt = video.thumb_url, video.alt
    case.region_path = region_path(case.region)
    case.place = " · ".join(r.name for r in case.region_path)
    return case


def latest_published_cases(limit: int = 3) -> list[TypicalCase]:
    """The newest published cases, as cards (for the home page): two queries."""
    return [dress_case(case) for case in showcase_cases()[:limit]]


class ShowcaseFilterForm(forms.Form):
    """The list's query string. Values that do not parse are ignored (and said so), never a 500."""

    year = forms.IntegerField(label=_("Year"), required=False, min_value=1978, max_value=2100)
    key_arrangement = forms.IntegerField(
        label=_("Key arrangement"), required=False, min_value=1, max_value=ID_MAX
    )
    province = forms.RegexField(label=_("Province"), regex=r"^[1-9]\d0000$", required=False)
    city = forms.RegexField(label=_("City"), regex=r"^[1-9]\d{5}$", required=False)

    def cleaned(self) -> dict:
        """The valid values only (an invalid field counts as not given); a city implies its
        province, and a city outside the chosen province is left out."""
        self.is_valid()
        filters = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        city = filters.get("city")
        if city:
            province = filters.setdefault("province", city[:2] + "0000")
            if province[:2] != city[:2]:
                del filters["city"]
        return filters


LIST_PARAMETERS = {*ShowcaseFilterForm.base_fields, "page"}


def _choices(filters: dict) -> dict:
    """What the filter form offers (two queries): the years with published cases and their key
    arrangements (only the chosen year's, once one is chosen); the provinces and the chosen
    province's cities."""
    with_cases = TypicalCase.objects.filter(
        report__campaign=OuterRef("campaign"), published_at__isnull=False
    )
    arrangements = (
        KeyArrangement.objects.filter(Exists(with_cases))
        .select_related("campaign")
        .only("pk", "number", "title_zh", "title_en", "campaign__year")
        .order_by("-campaign__year", "number")
    )
    years = []
    groups: dict[int, list] = {}
    for arrangement in arrangements:
        year = arrangement.campaign.year
        if year not in groups:
            years.append(year)
            groups[year] = []
        groups[year].append((arrangement.pk, f"{arrangement.number}. {arrangement.title}"))
    if "year" in filters:
        groups = {filters["year"]: groups.get(filters["year"], [])}
    regions = Region.objects.filter(
        Q(level=RegionLevel.PROVINCE)
        | Q(level=RegionLevel.CITY, parent__code=filters.get("province") or "-")
    ).only("code", "name_zh", "name_en", "level")
    regions = list(regions)
    return {
        "years": years,
        "arrangement_groups": list(groups.items()),
        "provinces": [(r.code, r.name) for r in regions if r.level == RegionLevel.PROVINCE],
        "cities": [(r.code, r.name) for r in regions if r.level == RegionLevel.CITY],
    }


def _filtered(filters: dict) -> QuerySet[TypicalCase]:
    region_code = filters.get("city") or filters.get("province")
    cases = showcase_cases(
        key_arrangement_id=filters.get("key_arrangement"),
        region=Region(code=region_code) if region_code else None,
    )
    if "year" in filters:
        cases = cases.filter(report__campaign__year=filters["year"])
    return cases


# --- views --------------------------------------------------------------------------------------


@require_safe
def showcase(request):
    """Published typical cases, newest first, filtered by year, key arrangement and region.

    Anonymous visitors get the whole page from the cache for PUBLIC_LIST_CACHE_SECONDS: it holds
    nothing personal, and the key includes the language, the full query and the showcase's
    generation, so a case published or withdrawn shows at once."""
    page_key = None
    seconds = settings.PUBLIC_LIST_CACHE_SECONDS
    if (
        seconds
        and not request.user.is_authenticated
        and not len(get_messages(request))
        # Only questions the list understands: junk parameters must not fill the cache.
        and set(request.GET) <= LIST_PARAMETERS
        and len(request.GET.urlencode()) <= 200
    ):
        generation = cache.get(GENERATION_KEY, 0)
        asked = (generation, get_language(), request.get_full_path())
        page_key = "feedback:showcase:page:" + hashlib.sha256(repr(asked).encode()).hexdigest()
        cached = cache.get(page_key)
        if cached is not None:
            response = HttpResponse(cached)
            patch_vary_headers(response, ("Cookie",))
            return response
    response = _showcase_page(request)
    if page_key and response.status_code == 200:
        cache.set(page_key, response.content, seconds)
    patch_vary_headers(response, ("Cookie",))
    return response


def _showcase_page(request):
    form = ShowcaseFilterForm(request.GET)
    filters = form.cleaned()
    choices = _choices(filters)
    page = Paginator(_filtered(filters), PER_PAGE).get_page(request.GET.get("page"))
    cases = [dress_case(case) for case in page.object_list]
    query = urlencode(filters)
    return render(
        request,
        "feedback/showcase/list.html",
        {
            "filters": filters,
            "cases": cases,
            "page": page,
            "page_query": f"{query}&" if query else "",
            "invalid": [form.fields[name].label for name in form.errors],
            "canonical_url": settings.SITE_URL + reverse("feedback:showcase"),
            **choices,
        },
    )


@require_safe
def case_public(request, pk: int):
    """A published case: its text, pictures and videos. Unpublished cases are not found, for
    reviewers too (they read cases on the review pages)."""
    case = dress_case(
        get_object_or_404(
            showcase_cases().select_related("published_by", "report__department__region"), pk=pk
        )
    )
    url = settings.SITE_URL + reverse("feedback:case_public", args=[case.pk])
    share_image = case.pictures[0].web_url if case.pictures else case.cover_url
    return render(
        request,
        "feedback/showcase/detail.html",
        {
            "case": case,
            "canonical_url": url,
            "share_description": " ".join(case.body.split())[:150],
            "share_image": settings.SITE_URL + share_image if share_image else "",
        },
    )


def _back(request, case: TypicalCase) -> str:
    """Where the action returns: `next` when it is an address on this site, else the review page
    of the case's report."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("feedback:report_review", args=[case.report_id])


def _case_for_action(request, pk: int) -> TypicalCase:
    case = get_object_or_404(
        TypicalCase.objects.select_related("report__department__region"), pk=pk
    )
    if not request.user.has_perm("feedback.view_case", case):
        raise Http404  # a case someone may not see: its existence is not revealed
    if not request.user.has_perm("feedback.publish_case", case):
        raise PermissionDenied
    return case


@require_POST
@login_required
def case_publish(request, pk: int):
    """Put an accepted report's case on the public showcase (reviewers of its region)."""
    case = _case_for_action(request, pk)
    was_published = case.is_published
    try:
        services.case_publish(case, actor=request.user)
    except DomainError as refusal:
        messages.error(
            request,
            _("“%(title)s” was not published: %(reason)s")
            % {"title": case.title, "reason": refusal.message},
        )
    else:
        if was_published:
            messages.info(request, _("“%(title)s” was already published.") % {"title": case.title})
        else:
            messages.success(
                request,
                _("“%(title)s” is published in the typical cases for everyone to see.")
                % {"title": case.title},
            )
    return redirect(_back(request, case))


@require_POST
@login_required
def case_unpublish(request, pk: int):
    """Withdraw a case from the public showcase, with an optional reason (kept in the audit log)."""
    case = _case_for_action(request, pk)
    reason = (request.POST.get("reason") or "").strip()
    if len(reason) > REASON_MAX_CHARS:
        messages.error(
            request,
            _(
                "“%(title)s” is still published: the reason is %(length)d characters long; "
                "at most %(limit)d are allowed."
            )
            % {"title": case.title, "length": len(reason), "limit": REASON_MAX_CHARS},
        )
        return redirect(_back(request, case))
    was_published = case.is_published
    try:
        services.case_unpublish(case, actor=request.user, reason=reason)
    except DomainError as refusal:
        messages.error(
            request,
            _("“%(title)s” was not withdrawn: %(reason)s")
            % {"title": case.title, "reason": refusal.message},
        )
    else:
        if was_published:
            messages.success(
                request,
                _("“%(title)s” is withdrawn from the typical cases.") % {"title": case.title},
            )
        else:
            messages.info(request, _("“%(title)s” was not published.") % {"title": case.title})
    return redirect(_back(request, case))


urlpatterns = [
    path("cases/", showcase, name="showcase"),
    path("cases/<int:pk>/", case_public, name="case_public"),
    path("review/feedback/cases/<int:pk>/publish/", case_publish, name="case_publish"),
    path("review/feedback/cases/<int:pk>/unpublish/", case_unpublish, name="case_unpublish"),
]
