"""The reviewer's forms of the shared review mechanism (qualitymonth/review.py): the review of one
object (an action, an overall comment, a comment per reviewed field, and the version the
reviewer saw), and the queues' "waiting longer than" filter."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

FIELD_COMMENT_PREFIX = "comment_on_"

WAITING_CHOICES = [
    ("", _("Any time")),
    ("3", _("More than 3 days")),
    ("7", _("More than 7 days")),
    ("14", _("More than 14 days")),
    ("30", _("More than 30 days")),
]


def waiting_field() -> forms.TypedChoiceField:
    """A review queue's filter: only what has waited more than so many days (None: any)."""
    return forms.TypedChoiceField(
        label=_("Waiting"),
        choices=WAITING_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )


class WorkflowReviewForm(forms.Form):
    """Subclasses declare `action` (and may declare `comment` again, e.g. with help), and set
    `workflow` (a Workflow), `actions_without_field_comments` (the actions that cannot carry
    comments on fields) and `field_comments_need_return` (the message when such an action has
    them). `version` is the version the reviewer saw, so that a second reviewer (or an edit in
    between) is caught instead of overwritten."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    field_order = ["action", "comment", "version"]
    workflow = None
    actions_without_field_comments: tuple[str, ...] = ()
    field_comments_need_return = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.workflow.reviewed_fields:
            self.fields[FIELD_COMMENT_PREFIX + name] = forms.CharField(
                label=capfirst(self.workflow.field_labels.get(name, name)),
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    @property
    def field_comment_fields(self):
        return [self[FIELD_COMMENT_PREFIX + name] for name in self.workflow.reviewed_fields]

    @property
    def has_field_comments(self) -> bool:
        """Whether any comment on a field was typed (to open their list again)."""
        return any(
            (self.data.get(bound.html_name) or "").strip() for bound in self.field_comment_fields
        )

    def field_comments(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[FIELD_COMMENT_PREFIX + name]
            for name in self.workflow.reviewed_fields
            if (self.cleaned_data.get(FIELD_COMMENT_PREFIX + name) or "").strip()
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") in self.actions_without_field_comments and any(
            (cleaned.get(FIELD_COMMENT_PREFIX + name) or "").strip()
            for name in self.workflow.reviewed_fields
        ):
            # Never drop what a reviewer typed without telling them.
            raise forms.ValidationError(
                self.field_comments_need_return, code="field_comments_need_return"
            )
        return cleaned
