"""Site administration for people, their roles and their API tokens.

Granting and revoking a role here goes through the role services (`accounts.services`), which
write the audit log, exactly as the portal's own screens do.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Prefetch, Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from qualitymonth.admin import ADMIN_COMMENT, AuditedAdminMixin, AuditedModelAdmin
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError

from . import services
from .enums import RepresentationStatus
from .models import (
    DepartmentMembership,
    EnterpriseRepresentative,
    EnterpriseSignup,
    PersonalToken,
    ReviewerAssignment,
    User,
)

# --- forms -----------------------------------------------------------------------------------


class PortalUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "preferred_language")
        field_classes = {}


class PortalUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {}


class ReviewerAssignmentForm(forms.ModelForm):
    """Making someone a national reviewer is a deliberate tick, never a forgotten region."""

    national = forms.BooleanField(
        label=_("national reviewer"),
        required=False,
        help_text=_("Reviews activities and reports from every region. Leave the region empty."),
    )

    class Meta:
        model = ReviewerAssignment
        fields = ("region",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["national"].initial = self.instance.region_id is None
        self.fields["region"].help_text = _(
            "A provincial reviewer reviews this region and every region below it."
        )

    def clean(self):
        cleaned = super().clean()
        national, region = cleaned.get("national"), cleaned.get("region")
        if national and region is not None:
            raise forms.ValidationError(_("A national reviewer has no region."))
        if not national and region is None and "region" not in self.errors:
            raise forms.ValidationError(
                _("Choose the region this person reviews, or tick “national reviewer”.")
            )
        return cleaned


# --- filters ---------------------------------------------------------------------------------


class RoleFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return (
            ("admin", _("Platform administrator")),
            ("reviewer", _("Reviewer")),
            ("national_reviewer", _("National reviewer")),
            ("staff", _("Department staff")),
            ("enterprise", _("Enterprise representative")),
            ("none", _("No role")),
        )

    def queryset(self, request, queryset):
        approved = Q(
            enterprise_representations__status=RepresentationStatus.APPROVED,
        )
        found = {
            "admin": Q(is_superuser=True),
            "reviewer": Q(reviewer_assignment__isnull=False),
            "national_reviewer": Q(
                reviewer_assignment__isnull=False, reviewer_assignment__region__isnull=True
            ),
            "staff": Q(department_membership__isnull=False),
            "enterprise": approved,
        }.get(self.value())
        if found is not None:
            return queryset.filter(found)
        if self.value() == "none":
            return queryset.filter(
                is_superuser=False,
                reviewer_assignment__isnull=True,
                department_membership__isnull=True,
            ).exclude(
                pk__in=EnterpriseRepresentative.objects.filter(
                    status=RepresentationStatus.APPROVED
                ).values("user_id")
            )
        return queryset


class ReviewerScopeFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return (("national", _("National")), ("regional", _("Regional")))

    def queryset(self, request, queryset):
        if self.value() == "national":
            return queryset.filter(region__isnull=True)
        if self.value() == "regional":
            return queryset.filter(region__isnull=False)
        return queryset


class TokenStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("usable", _("Usable")), ("revoked", _("Revoked")), ("expired", _("Expired")))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "usable":
            return queryset.filter(revoked_at__isnull=True).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            )
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


# --- role inlines on the person --------------------------------------------------------------


class DepartmentMembershipInline(admin.TabularInline):
    model = DepartmentMembership
    fk_name = "user"
    fields = ("department", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")
    autocomplete_fields = ("department",)
    extra = 1
    max_num = 1
    verbose_name = verbose_name_plural = _("department staff (one department)")


class ReviewerAssignmentInline(admin.TabularInline):
    model = ReviewerAssignment
    form = ReviewerAssignmentForm
    fk_name = "user"
    fields = ("national", "region", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")
    autocomplete_fields = ("region",)
    extra = 1
    max_num = 1
    verbose_name = verbose_name_plural = _("reviewer")


class EnterpriseRepresentationInline(admin.TabularInline):
    """Claims to speak for an enterprise, shown here; they are decided in the claim workflow."""

    model = EnterpriseRepresentative
    fk_name = "user"
    fields = ("enterprise", "status", "created_at", "decided_by", "decided_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("enterprise representation")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("enterprise", "decided_by")


def _save_role_formset(request, user, formset) -> bool:
    """Saves a role inline through the role services. False when `formset` holds no role."""
    if formset.model not in (DepartmentMembership, ReviewerAssignment):
        return False
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        existing = form.instance if form.instance.pk is not None else None
        if existing is not None and form in formset.deleted_forms:
            if formset.model is DepartmentMembership:
                services.department_membership_revoke(user, actor=request.user)
            else:
                services.reviewer_assignment_revoke(user, actor=request.user)
            formset.deleted_objects.append(existing)
            continue
        if not form.has_changed() or form in formset.deleted_forms:
            continue
        if formset.model is DepartmentMembership:
            saved = services.department_membership_grant(
                user, department=form.cleaned_data["department"], actor=request.user
            )
        else:
            saved = services.reviewer_assignment_grant(
                user, region=form.cleaned_data.get("region"), actor=request.user
            )
        if existing is None:
            formset.new_objects.append(saved)
        else:
            formset.changed_objects.append((saved, form.changed_data))
    return True


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "phone", "preferred_language")}),
        (
            _("Site administration"),
            {
                "fields": ("is_active", "is_staff", "is_superuser"),
                "description": _(
                    "A platform administrator (superuser) may do everything. Reviewer, "
                    "department staff and enterprise roles are granted below."
                ),
            },
        ),
        (
            _("Limited administration rights"),
            {
                "classes": ("collapse",),
                "fields": ("groups", "user_permissions"),
                "description": _(
                    "Only for people who use the site administration without being platform "
                    "administrators: the parts of it they may see and change."
                ),
            },
        ),
        (_("Dates"), {"fields": ("email_verified_at", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "full_name",
                    "preferred_language",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = (
        "email",
        "full_name",
        "roles",
        "is_active",
        "is_staff",
        "is_superuser",
        "email_verified_at",
        "last_login",
    )
    list_filter = (RoleFilter, "is_active", "is_staff", "is_superuser", "preferred_language")
    list_select_related = ("department_membership__department", "reviewer_assignment__region")
    search_fields = ("email", "full_name", "phone")
    ordering = ("email",)
    show_full_result_count = False
    inlines = (DepartmentMembershipInline, ReviewerAssignmentInline, EnterpriseRepresentationInline)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "enterprise_representations",
                    queryset=EnterpriseRepresentative.objects.filter(
                        status=RepresentationStatus.APPROVED
                    ).select_related("enterprise"),
                    to_attr="approved_representations",
                )
            )
        )

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            # Nobody locks themselves out of the site administration by mistake.
            return (*readonly, "is_active", "is_staff", "is_superuser")
        return readonly

    def get_inlines(self, request, obj):
        # Roles are granted once the person exists.
        return self.inlines if obj is not None else ()

    @admin.display(description=_("roles"))
    def roles(self, user):
        found = []
        if user.is_superuser:
            found.append(str(_("Platform administrator")))
        membership = getattr(user, "department_membership", None)
        if membership is not None:
            found.append(f"{_('Department staff')}: {membership.department}")
        assignment = getattr(user, "reviewer_assignment", None)
        if assignment is not None:
            scope = assignment.region or _("national")
            found.append(f"{_('Reviewer')}: {scope}")
        for representation in getattr(user, "approved_representations", []):
            found.append(f"{_('Enterprise representative')}: {representation.enterprise}")
        return "; ".join(found) or "—"

    def save_model(self, request, obj, form, change):
        # The platform administrator role is granted and revoked by its service (audited as a
        # role change); every other field is saved and audited as usual.
        role_changed = change and "is_superuser" in form.changed_data
        if role_changed:
            obj.is_superuser = not obj.is_superuser
            form.changed_data.remove("is_superuser")
        super().save_model(request, obj, form, change)
        if role_changed:
            if obj.is_superuser:
                services.platform_admin_revoke(obj, actor=request.user)
            else:
                services.platform_admin_grant(obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if not _save_role_formset(request, form.instance, formset):
            super().save_formset(request, form, formset, change)

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().user_change_password(request, id, form_url)
            if (
                request.method == "POST"
                and response.status_code == 302
                and response.url != request.get_full_path()
            ):
                user = self.get_object(request, id)
                audit_log(
                    user,
                    "accounts.user.password_set",
                    actor=request.user,
                    changes={"usable_password": user.has_usable_password()},
                    comment=ADMIN_COMMENT,
                )
        return response


# --- roles on their own ----------------------------------------------------------------------


class _RoleAdmin(admin.ModelAdmin):
    """Roles are granted and revoked through the role services, which write the audit log."""

    readonly_fields = ("granted_by", "granted_at")
    autocomplete_fields = ("user",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A role belongs to its person: to move it, revoke it and grant it to the other person.
        if obj is not None:
            return ("user", *self.readonly_fields)
        return self.readonly_fields

    def grant(self, request, user, form):
        raise NotImplementedError

    def revoke(self, request, user):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return
        saved = self.grant(request, obj.user, form)
        obj.pk = saved.pk
        obj.granted_by, obj.granted_at = saved.granted_by, saved.granted_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        self.revoke(request, obj.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("user"):
            self.revoke(request, obj.user)


@admin.register(DepartmentMembership)
class DepartmentMembershipAdmin(_RoleAdmin):
    list_display = ("user", "department", "granted_by", "granted_at")
    list_filter = ("department__level", "granted_at")
    list_select_related = ("user", "department", "granted_by")
    search_fields = ("user__email", "user__full_name", "department__name_zh", "department__name_en")
    autocomplete_fields = ("user", "department")

    def grant(self, request, user, form):
        return services.department_membership_grant(
            user, department=form.cleaned_data["department"], actor=request.user
        )

    def revoke(self, request, user):
        services.department_membership_revoke(user, actor=request.user)


@admin.register(ReviewerAssignment)
class ReviewerAssignmentAdmin(_RoleAdmin):
    form = ReviewerAssignmentForm
    fields = ("user", "national", "region", "granted_by", "granted_at")
    list_display = ("user", "scope", "granted_by", "granted_at")
    list_filter = (ReviewerScopeFilter, "granted_at")
    list_select_related = ("user", "region", "granted_by")
    search_fields = ("user__email", "user__full_name", "region__name_zh", "^region__code")
    autocomplete_fields = ("user", "region")

    @admin.display(description=_("scope"), ordering="region__code")
    def scope(self, assignment):
        return assignment.region or _("national")

    def grant(self, request, user, form):
        return services.reviewer_assignment_grant(
            user, region=form.cleaned_data.get("region"), actor=request.user
        )

    def revoke(self, request, user):
        services.reviewer_assignment_revoke(user, actor=request.user)


class RejectClaimsForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_("The claimants read this reason in their email."),
    )


@admin.register(EnterpriseRepresentative)
class EnterpriseRepresentativeAdmin(admin.ModelAdmin):
    """Claims to represent an enterprise. They are made by the people themselves (sign-up and
    claim) and decided here with the actions, through the claim workflow, which checks each
    move, writes the audit log and tells the claimant by email."""

    list_display = ("user", "enterprise", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "created_at")
    list_select_related = ("user", "enterprise", "decided_by")
    search_fields = ("user__email", "user__full_name", "enterprise__name", "=enterprise__uscc")
    fields = ("user", "enterprise", "status", "reason", "created_at", "decided_by", "decided_at")
    readonly_fields = fields
    actions = ("approve_claims", "reject_claims", "remove_representatives")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the decision stays on record

    def has_decide_permission(self, request):
        return request.user.has_perm("accounts.change_enterpriserepresentative")

    def _decide(self, request, queryset, decide, done_message):
        done = 0
        for representation in queryset.select_related("user", "enterprise"):
            try:
                decide(representation)
            except (DomainError, PermissionDenied) as refused:
                self.message_user(request, f"{representation}: {refused}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Approve the selected claims"), permissions=("decide",))
    def approve_claims(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda r: services.enterprise_claim_approve(r, actor=request.user),
            lambda n: (
                ngettext("%(count)d claim approved.", "%(count)d claims approved.", n)
                % {"count": n}
            ),
        )

    @admin.action(description=_("Reject the selected claims…"), permissions=("decide",))
    def reject_claims(self, request, queryset):
        form = RejectClaimsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide(
                request,
                queryset,
                lambda r: services.enterprise_claim_reject(r, actor=request.user, reason=reason),
                lambda n: (
                    ngettext("%(count)d claim rejected.", "%(count)d claims rejected.", n)
                    % {"count": n}
                ),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reject claims"),
            "opts": self.opts,
            "form": form,
            "queryset": queryset.select_related("user", "enterprise"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "reject_claims",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/accounts/enterpriserepresentative/reject_claims.html", context
        )

    @admin.action(
        description=_("Remove the selected representatives (or withdraw waiting claims)"),
        permissions=("decide",),
    )
    def remove_representatives(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda r: services.enterprise_representative_remove(r, actor=request.user),
            lambda n: (
                ngettext(
                    "%(count)d representative removed.", "%(count)d representatives removed.", n
                )
                % {"count": n}
            ),
        )


@admin.register(EnterpriseSignup)
class EnterpriseSignupAdmin(AuditedModelAdmin):
    """Enterprise sign-ups whose email address is not verified yet (they become claims then)."""

    list_display = ("user", "uscc", "enterprise_name", "created_at")
    list_select_related = ("user",)
    list_filter = ("created_at",)
    search_fields = ("user__email", "=uscc")
    fields = ("user", "uscc", "details", "created_at")
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("enterprise"))
    def enterprise_name(self, signup):
        return signup.details.get("name", "")


# --- personal API tokens ---------------------------------------------------------------------


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """Tokens, to see and revoke. The key is shown only to its owner, once; the hash never."""

    list_display = (
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "usable",
    )
    list_filter = (TokenStateFilter, "created_at")
    list_select_related = ("user",)
    search_fields = ("name", "^prefix", "user__email")
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # owners make their tokens, and see the key once

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit log points at them

    @admin.display(description=_("usable"), boolean=True)
    def usable(self, token):
        return token.is_usable

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_personaltoken")

    @admin.action(description=_("Revoke the selected tokens"), permissions=("revoke",))
    def revoke_tokens(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(token, actor=request.user)
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


# Authenticators and backup codes are secrets, changed only through accounts/two_factor.py
# (audited): the pages of django-otp's own admin would show and edit them unaudited.
# An administrator resets a person's two-factor authentication on the staff page.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)
