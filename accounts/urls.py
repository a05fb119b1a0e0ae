from django.contrib.auth import views as auth_views
from django.urls import path

from . import two_factor_views, views

app_name = "accounts"

urlpatterns = [
    # Signing in and out, passwords
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Enterprise sign-up and email verification
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_done, name="signup_done"),
    path("verify/", views.verification_resend, name="verification_resend"),
    path("verify/<uidb64>/<token>/", views.email_verify, name="email_verify"),
    # Staff invitations
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path(
        "staff/<int:pk>/resend-invitation/",
        views.staff_invitation_resend,
        name="staff_invitation_resend",
    ),
    path(
        "invitation/<uidb64>/<token>/",
        views.InvitationAcceptView.as_view(),
        name="invitation_accept",
    ),
    # The person
    path("profile/", views.profile, name="profile"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/new/", views.token_create, name="token_create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    # Enterprises and claims
    path("enterprise/", views.my_enterprise, name="my_enterprise"),
    path("enterprise/claim/", views.enterprise_claim, name="enterprise_claim"),
    path(
        "enterprises/<int:pk>/representatives/",
        views.enterprise_representatives,
        name="enterprise_representatives",
    ),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/<int:pk>/approve/", views.claim_approve, name="claim_approve"),
    path("claims/<int:pk>/reject/", views.claim_reject, name="claim_reject"),
    path("claims/<int:pk>/withdraw/", views.claim_withdraw, name="claim_withdraw"),
    path(
        "representatives/<int:pk>/remove/",
        views.representative_remove,
        name="representative_remove",
    ),
]
# Two-factor authentication
urlpatterns += two_factor_views.urlpatterns
