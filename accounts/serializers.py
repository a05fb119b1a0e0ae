"""API representations of the signed-in person and their personal tokens."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activities.models import Department
from qualitymonth.api_serializers import ModelSerializer
from registrations.models import Enterprise

from .models import PersonalToken, User
from .rules import roles_of


def roles_in_words(user) -> list[dict]:
    """The person's roles, each with its code, a label in the request's language and its ids."""
    roles = roles_of(user)

    def role(code, label, *, region=None, department=None, enterprise=None) -> dict:
        return {
            "code": code,
            "label": label,
            "region": region,
            "department": department,
            "enterprise": enterprise,
        }

    found = []
    if roles.is_admin:
        found.append(role("platform_admin", _("Platform administrator")))
    if roles.is_reviewer:
        region = roles.reviewer_region
        if region is None:
            found.append(role("reviewer", _("National reviewer")))
        else:
            label = _("Reviewer for %(region)s and everything under it") % {"region": region.name}
            found.append(role("reviewer", label, region=region.code))
    if roles.department_id is not None:
        department = Department.objects.get(pk=roles.department_id)
        label = _("Staff of %(department)s") % {"department": department.name}
        found.append(role("department_staff", label, department=department.pk))
    if roles.enterprise_id is not None:
        enterprise = Enterprise.objects.only("name").get(pk=roles.enterprise_id)
        label = _("Representative of %(enterprise)s") % {"enterprise": enterprise.name}
        found.append(role("enterprise_representative", label, enterprise=enterprise.pk))
    return found


class RoleSerializer(serializers.Serializer):
    """One role a person holds, in words and by the ids it refers to."""

    code = serializers.ChoiceField(
        choices=["platform_admin", "reviewer", "department_staff", "enterprise_representative"],
        help_text=_("What kind of role."),
    )
    label = serializers.CharField(help_text=_("The role in words, in the request's language."))
    region = serializers.CharField(
        allow_null=True,
        help_text=_(
            "Reviewers: the code of the region they review (null for national reviewers). "
            "Null for other roles."
        ),
    )
    department = serializers.IntegerField(
        allow_null=True, help_text=_("Department staff: the id of their department, else null.")
    )
    enterprise = serializers.IntegerField(
        allow_null=True,
        help_text=_("Enterprise representatives: the id of their enterprise, else null."),
    )


class MeSerializer(ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "preferred_language", "roles"]
        read_only_fields = fields

    @extend_schema_field(RoleSerializer(many=True))
    def get_roles(self, user) -> list[dict]:
        return RoleSerializer(roles_in_words(user), many=True).data


class PersonalTokenSerializer(ModelSerializer):
    """A token as its owner sees it later: never the key, never its hash."""

    is_usable = serializers.BooleanField(
        read_only=True, help_text=_("Neither revoked nor expired: requests with it are accepted.")
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("Optional. After this moment the token is refused. Must lie in the future."),
    )

    class Meta:
        model = PersonalToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_usable",
        ]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at", "is_usable"]
        extra_kwargs = {
            "name": {"help_text": _("What the token is for, e.g. “statistics export”.")}
        }

    def validate_name(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError(_("Give the token a name."))
        return value


class PersonalTokenCreatedSerializer(PersonalTokenSerializer):
    """The answer to creating a token: the only time its key is shown."""

    key = serializers.CharField(
        read_only=True,
        help_text=_(
            "The secret key. Shown only now: store it safely, send it as "
            "`Authorization: Token <key>`."
        ),
    )

    class Meta(PersonalTokenSerializer.Meta):
        fields = [*PersonalTokenSerializer.Meta.fields, "key"]
        read_only_fields = [*PersonalTokenSerializer.Meta.read_only_fields, "key"]
