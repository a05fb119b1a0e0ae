"""The reviewer's form of the shared review mechanism (qualitymonth/review.py): an action, an
overall comment, a comment per reviewed field, and the version the reviewer saw."""

from django import forms
from django.utils.text import capfirst

FIELD_COMMENT_PREFIX = "comment_on_"


class WorkflowReviewForm(forms.Form):
    """Subclasses declare `action`, `comment` and `version`, and set `workflow` (a Workflow),
    `actions_without_field_comments` (the actions that cannot carry comments on fields) and
    `field_comments_need_return` (the message when such an action has them)."""

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
