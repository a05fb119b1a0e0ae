"""Search in activity texts that works for Chinese: any substring, one character up, served by an
index on PostgreSQL (activities/search.py, migration 0006)."""

import datetime as dt
import random

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from activities.models import Activity
from activities.search import (
    activity_search,
    activity_search_text,
    query_tokens,
    search_reindex,
    search_text_for,
    text_tokens,
)
from activities.services import activity_create, activity_update
from tests import factories

pytestmark = pytest.mark.django_db


# --- tokens -------------------------------------------------------------------------------------


def test_text_tokens_are_characters_pairs_and_latin_words():
    assert text_tokens("质量月") == ["质", "质量", "量", "量月", "月"]
    tokens = text_tokens("ISO 9001认证")
    assert {"iso", "9001", "1认", "认证", "证"} <= set(tokens)
    # Punctuation separates runs: no pair spans it.
    assert "量，" not in text_tokens("质量，标准") and "量标" not in text_tokens("质量，标准")


def test_full_width_forms_and_case_are_normalised():
    assert search_text_for("ＩＳＯ２０２４") == search_text_for("iso2024")


def test_query_tokens_unigram_for_one_character_bigrams_otherwise():
    assert query_tokens("医") == ["医"]
    assert query_tokens("医药") == ["医药"]
    assert query_tokens("质量强国") == ["质量", "量强", "强国"]
    assert query_tokens("医 质量") == ["医", "质量"]
    assert query_tokens("——") == []


def test_each_token_is_kept_once():
    text = search_text_for("质量质量", "质量")
    assert text.split().count("质量") == 1


# --- searching ----------------------------------------------------------------------------------


@pytest.fixture
def activities():
    campaign = factories.CampaignFactory(year=2032)
    make = lambda title, description="": factories.ActivityFactory(  # noqa: E731
        campaign=campaign, title=title, description=description, summary=""
    )
    return {
        "pharma": make("医药质量提升培训", "邀请专家讲解GMP与ISO 9001。"),
        "bike": make("电动自行车安全宣传", "进社区开展消费教育。"),
        "strong": make("质量强国建设专家论坛", ""),
        "english": make("Quality Open Day", "Standards and Metrology for small firms"),
    }


def found(query: str) -> set[str]:
    return set(activity_search(Activity.objects.all(), query).values_list("title", flat=True))


def test_one_character(activities):
    assert found("医") == {"医药质量提升培训"}
    assert found("质") == {"医药质量提升培训", "质量强国建设专家论坛"}


def test_two_characters(activities):
    assert found("医药") == {"医药质量提升培训"}
    assert found("安全") == {"电动自行车安全宣传"}


def test_four_characters(activities):
    assert found("质量强国") == {"质量强国建设专家论坛"}


def test_the_pairs_must_stand_together(activities):
    # 质量 and 强国 both occur in the pharma activity's neighbours, but not as one substring.
    assert found("质量提升") == {"医药质量提升培训"}
    assert found("提升质量") == set()


def test_in_the_description(activities):
    assert found("消费教育") == {"电动自行车安全宣传"}
    assert found("GMP") == {"医药质量提升培训"}


def test_latin_words_and_parts_of_words_in_any_case(activities):
    assert found("quality") == {"Quality Open Day"}
    assert found("METROLOGY") == {"Quality Open Day"}
    assert found("etro") == {"Quality Open Day"}
    assert found("iso 9001") == {"医药质量提升培训"}


def test_several_words_must_all_appear(activities):
    assert found("质量 论坛") == {"质量强国建设专家论坛"}
    assert found("质量 宣传") == set()


def test_no_match_and_an_empty_query(activities):
    assert found("火箭") == set()
    assert found("x") == set()
    assert found("   ") == {a.title for a in activities.values()}


def test_like_wildcards_in_the_query_are_literal(activities):
    assert found("%") == set()
    assert found("_") == set()


# --- keeping the search text ---------------------------------------------------------------------


def test_the_services_keep_the_search_text():
    organiser = factories.DepartmentFactory()
    staff = factories.UserFactory()
    factories.DepartmentMembershipFactory(user=staff, department=organiser)
    campaign = factories.CampaignFactory(year=2033)
    start = timezone.make_aware(dt.datetime(2033, 9, 10, 9))
    created = activity_create(
        actor=staff,
        campaign=campaign,
        organiser=organiser,
        key_arrangement=factories.KeyArrangementFactory(campaign=campaign),
        title="计量服务进企业",
        description="免费校准",
        region=organiser.region,
        venue="会议室",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
    )
    assert found("计量") == {"计量服务进企业"}

    activity_update(created, actor=staff, title="标准化服务进企业")

    created.refresh_from_db()
    assert created.search_text == activity_search_text(created)
    assert found("计量") == set()
    assert found("标准化") == {"标准化服务进企业"}


def test_reindex_rewrites_stale_search_text_and_nothing_else(activities):
    Activity.objects.update(search_text="")
    before = dict(Activity.objects.values_list("pk", "updated_at"))

    assert search_reindex(batch_size=3) == 4

    assert found("医药") == {"医药质量提升培训"}
    assert dict(Activity.objects.values_list("pk", "updated_at")) == before


def test_the_reindex_command(activities, capsys):
    Activity.objects.update(search_text="")

    call_command("reindex_search")

    assert "4 activities" in capsys.readouterr().out
    assert found("安全") == {"电动自行车安全宣传"}


# --- the index on PostgreSQL --------------------------------------------------------------------

WORDS = "质量标准计量认证检验检测品牌安全消费服务企业工业农业城市社区培训宣传论坛"


@pytest.mark.postgres
def test_the_search_index_exists_and_serves_a_two_character_query():
    campaign = factories.CampaignFactory(year=2034)
    template = factories.ActivityFactory(campaign=campaign)
    rng = random.Random(4)
    rows = []
    for i in range(20000):
        title = "".join(rng.choice(WORDS) for _ in range(12)) + f"{i}"
        rows.append(
            Activity(
                campaign=campaign,
                key_arrangement=template.key_arrangement,
                organiser=template.organiser,
                region=template.region,
                title=title,
                venue="会议室",
                starts_at=template.starts_at,
                ends_at=template.ends_at,
                no_fee_declared=True,
                status=template.status,
                search_text=search_text_for(title),
            )
        )
    rows[7].title = "医药质量提升"
    rows[7].search_text = search_text_for(rows[7].title)
    Activity.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE activities_activity")
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'activity_search_text_gin'"
        )
        (definition,) = cursor.fetchone()
    assert "gin" in definition and "to_tsvector('simple'" in definition

    query = activity_search(Activity.objects.all(), "医药")
    plan = query.explain()

    assert "activity_search_text_gin" in plan
    assert "Seq Scan on activities_activity" not in plan
    assert list(query.values_list("title", flat=True)) == ["医药质量提升"]
