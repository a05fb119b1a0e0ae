"""Search in activity titles, summaries and descriptions that works for Chinese.

Chinese has no spaces between words, and people search for any part of a text: one character
("质"), two ("医药"), four ("质量强国"). A trigram index cannot serve queries shorter than three
characters, and PostgreSQL ships no Chinese word splitter. So every run of letters and digits is
cut into its single characters and its character pairs (unigrams and bigrams, the way CJK
analysers of search engines work); Latin words are kept whole as well. These tokens are stored,
space-separated, in `Activity.search_text`, indexed on PostgreSQL by a GIN index on
``to_tsvector('simple', search_text)`` (migration 0006).

A query of one character looks up its unigram; a longer one the AND of its bigrams. The index
narrows the rows to candidates; a ``LIKE '%word%'`` on the texts themselves then keeps only exact
substring matches. SQLite (development) does the ``LIKE`` alone.
"""

import re
import unicodedata
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Lower, StrIndex
from django.db.models.lookups import GreaterThan

# A run of letters and digits, in any script. Punctuation and spaces separate runs.
_RUN = re.compile(r"[^\W_]+")
# Within a run, the part that is Latin (or other alphabetic script) words and digits, kept
# whole so an exact English word also matches as a word.
_WORD = re.compile(r"[0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")
# Lexemes of a tsvector must stay below 2 KB; nobody searches for a word this long.
_LONGEST_WORD = 100

SEARCHED_FIELDS = ("title", "summary", "description")


def normalise(text: str) -> str:
    """Full-width forms to their ordinary ones (ＩＳＯ → ISO, ２０２４ → 2024), lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def text_tokens(text: str) -> list[str]:
    """The index tokens of `text`: every character and every pair of neighbouring characters of
    each run of letters and digits, and every Latin word; each once, in order of appearance."""
    tokens: dict[str, None] = {}
    for run in _RUN.findall(normalise(text)):
        for i, char in enumerate(run):
            tokens[char] = None
            if i + 1 < len(run):
                tokens[run[i : i + 2]] = None
        for word in _WORD.findall(run):
            if 2 < len(word) <= _LONGEST_WORD:
                tokens[word] = None
    return list(tokens)


def search_text_for(*texts: str) -> str:
    """What `Activity.search_text` holds for these texts (title, summary, description)."""
    tokens: dict[str, None] = {}
    for text in texts:
        tokens.update(dict.fromkeys(text_tokens(text)))
    return " ".join(tokens)


def activity_search_text(activity) -> str:
    """The search text of one activity, from its current title, summary and description."""
    return search_text_for(*(getattr(activity, name) or "" for name in SEARCHED_FIELDS))


def query_words(query: str) -> list[str]:
    """The words of a query (separated by spaces), normalised; each must appear in the text."""
    return [word for word in normalise(query).split() if word]


def query_tokens(query: str) -> list[str]:
    """The tokens every matching activity's search text contains: the unigram of a one-character
    run, the bigrams of a longer one."""
    tokens: dict[str, None] = {}
    for run in _RUN.findall(normalise(query)):
        if len(run) == 1:
            tokens[run] = None
        for i in range(len(run) - 1):
            tokens[run[i : i + 2]] = None
    return list(tokens)


class _SimpleTextMatch(Func):
    """``to_tsvector('simple', text) @@ to_tsquery('simple', query)``: written exactly as the index
    expression of migration 0006, so that the planner can use the index."""

    template = "to_tsvector('simple', %(expressions)s)"
    arg_joiner = ") @@ to_tsquery('simple', "
    output_field = BooleanField()


def _contains(field: str, word: str) -> GreaterThan:
    """`word` occurs in `field` (lower-cased when the word has letters with case).

    Written as ``strpos(...) > 0`` rather than LIKE: the planner takes a third of the candidates
    to pass, close to the truth after the index found every pair of characters, where for LIKE it
    would guess a handful and read every candidate to sort them instead of walking the date index
    and stopping after a page. It is also cheap, so PostgreSQL tests it before the tsvector when
    it walks that index."""
    text = Lower(field) if word != word.upper() else F(field)
    return GreaterThan(StrIndex(text, Value(word)), 0)


def _tsquery(tokens: Iterable[str]) -> str:
    # Tokens hold only letters and digits, so quoting them cannot break out of the quotes.
    return " & ".join("'" + token.replace("'", "''") + "'" for token in tokens)


def activity_search(queryset: QuerySet, query: str) -> QuerySet:
    """The activities of `queryset` whose title, summary or description contains every word of
    `query` (as a substring, case-insensitively). An empty query changes nothing."""
    words = query_words(query)
    if not words:
        return queryset
    postgres = connection.vendor == "postgresql"
    exact = Q()
    for word in words:
        either = Q()
        for name in SEARCHED_FIELDS:
            if postgres:
                either |= Q(_contains(name, word))
            else:
                either |= Q(**{f"{name}__icontains": word})
        exact &= either
    tokens = query_tokens(query)
    if connection.vendor == "postgresql" and tokens:
        queryset = queryset.filter(_SimpleTextMatch(F("search_text"), Value(_tsquery(tokens))))
    return queryset.filter(exact)


def search_reindex(queryset: QuerySet | None = None, *, batch_size: int = 5000) -> int:
    """Recompute `search_text` of the activities in `queryset` (all of them by default) from
    their texts, in batches, without touching anything else (not even `updated_at`).
    Returns the number of activities rewritten."""
    from .models import Activity

    queryset = Activity.objects.all() if queryset is None else queryset
    table = connection.ops.quote_name(Activity._meta.db_table)
    count = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                queryset.filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", *SEARCHED_FIELDS)[:batch_size]
            )
            if not batch:
                return count
            pks = [row[0] for row in batch]
            texts = [search_text_for(*row[1:]) for row in batch]
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(
                        f"UPDATE {table} AS a SET search_text = v.text "  # noqa: S608 - table name from the model  # nosec B608
                        "FROM unnest(%s::bigint[], %s::text[]) AS v(id, text) WHERE a.id = v.id",
                        [pks, texts],
                    )
                else:
                    cursor.executemany(
                        f"UPDATE {table} SET search_text = %s WHERE id = %s",  # noqa: S608 - table name from the model  # nosec B608
                        list(zip(texts, pks, strict=True)),
                    )
        count += len(batch)
        last_pk = pks[-1]
