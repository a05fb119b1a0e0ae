"""Chinese search (activities/search.py): fill `search_text` for the activities there are, and on
PostgreSQL index it (GIN on its `simple` tsvector) together with the public listing's order."""

from django.db import migrations

SEARCH_INDEX = "activity_search_text_gin"
LISTING_INDEX = "activity_public_listing_idx"


def fill_search_text(apps, schema_editor):
    from activities.search import SEARCHED_FIELDS, search_text_for

    Activity = apps.get_model("activities", "Activity")
    batch = []
    for activity in Activity.objects.only("pk", *SEARCHED_FIELDS).iterator(chunk_size=2000):
        activity.search_text = search_text_for(*(getattr(activity, f) for f in SEARCHED_FIELDS))
        batch.append(activity)
        if len(batch) == 2000:
            Activity.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Activity.objects.bulk_update(batch, ["search_text"])


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON activities_activity "
        "USING gin (to_tsvector('simple', search_text))"
    )
    # The public list: a campaign's published and cancelled activities in date order, read
    # page by page from a (starts_at, id) cursor.
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {LISTING_INDEX} ON activities_activity "
        "(campaign_id, starts_at, id) WHERE status IN ('approved', 'cancelled')"
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {LISTING_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("activities", "0005_signup_and_complaints")]

    operations = [
        migrations.RunPython(fill_search_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
