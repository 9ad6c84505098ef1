"""Sign-in and security pages (included at the site root)."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/otp/", views.login_otp_view, name="login-otp"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset_view, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent_view, name="password-reset-sent"),
    path("password-reset/done/", views.password_reset_done_view, name="password-reset-done"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        views.password_reset_confirm_view,
        name="password-reset-confirm",
    ),
    path("step-up/", views.step_up_view, name="step-up"),
    path("profile/security/", views.security_view, name="profile-security"),
    path("profile/security/tokens/", views.token_create_view, name="profile-token-create"),
    path("profile/security/tokens/<int:pk>/revoke/", views.token_revoke_view, name="profile-token-revoke"),
    path(
        "profile/security/sessions/<int:pk>/revoke/",
        views.session_revoke_view,
        name="profile-session-revoke",
    ),
    path("profile/security/password/", views.password_change_view, name="profile-password"),
    path("profile/security/2fa/", views.two_factor_enrol_view, name="profile-2fa"),
    path("profile/security/2fa/confirm/", views.two_factor_confirm_view, name="profile-2fa-confirm"),
    path("profile/security/2fa/disable/", views.two_factor_disable_view, name="profile-2fa-disable"),
]
