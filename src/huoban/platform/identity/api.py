"""Identity API: tokens, me, users, org units, roles, own sessions."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from huoban.platform.access import registry
from huoban.platform.access.scoping import grants_for, has_perm
from huoban.platform.api.records import expected_version
from huoban.platform.errors import PermissionDeniedError

from . import services
from .lockout import is_locked_out, json_lockout, record_failure, reset_failures
from .models import ApiToken, OrgUnit, Role, User, UserSession
from .presets import ALL_ACTIONS
from .stepup import require_step_up, step_up_fresh, step_up_until, step_up_verify
from .twofactor import (
    two_factor_confirm,
    two_factor_disable,
    two_factor_required,
    two_factor_start,
    user_has_2fa,
    verify_otp,
)


def me(request: Any) -> User:
    """The authenticated user of a request (views behind IsAuthenticated)."""
    return cast(User, request.user)


class AuthThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        self.scope = "auth"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return self.cache_format % {"scope": "auth", "ident": self.get_ident(request)}


class IsAdministrator(permissions.BasePermission):
    """Settings endpoints: the `manage` action on the object type named by the view."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        object_type = getattr(view, "admin_object_type", "settings")
        if request.method in permissions.SAFE_METHODS and has_perm(request.user, object_type, "view"):
            return True
        if not has_perm(request.user, object_type, "manage"):
            raise PermissionDeniedError()
        return True


# --- tokens --------------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    otp = serializers.CharField(
        required=False, allow_blank=True, help_text="TOTP code, when 2FA is enrolled."
    )
    name = serializers.CharField(required=False, default="API")
    expires_in_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="API")
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=3650, help_text="0: never expires."
    )


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


def _verify_otp(user: User, code: str) -> bool:
    return verify_otp(user, code) is not None


@extend_schema(
    request=TokenRequestSerializer,
    responses={
        200: inline_serializer(
            "TokenResponse", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
        )
    },
    auth=[],
    description="Exchange username/password (+ otp when 2FA is enrolled) for a bearer token.",
)
@api_view(["POST"])
@permission_classes([permissions.AllowAny])
@throttle_classes([AuthThrottle])
def obtain_token(request: Request) -> HttpResponse:
    s = TokenRequestSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    # The Django request goes to authenticate(), so django-axes counts failures and locks out.
    django_request = request._request
    username = s.validated_data["username"]
    user = authenticate(django_request, username=username, password=s.validated_data["password"])
    if user is None:
        if is_locked_out(django_request):
            return json_lockout(django_request)
        return Response(
            {"detail": _("Invalid username or password."), "code": "invalid_credentials"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if user_has_2fa(user):
        otp = s.validated_data.get("otp", "")
        if not otp:
            return Response(
                {"otp": [_("Enter the current code from your authenticator app.")], "code": "otp_required"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if not _verify_otp(user, otp):
            record_failure(django_request, user.get_username(), stage="otp")
            if is_locked_out(django_request):
                return json_lockout(django_request)
            return Response(
                {"otp": [_("That code is not valid.")], "code": "invalid_otp"},
                status=status.HTTP_400_BAD_REQUEST,
            )
    elif grants_for(user).require_2fa:
        return Response(
            {
                "detail": _("Your role requires two-factor authentication. Enrol in your profile first."),
                "code": "2fa_enrolment_required",
            },
            status=status.HTTP_403_FORBIDDEN,
        )
    reset_failures(django_request, user.get_username())
    token, raw = services.token_create(
        actor=user,
        user=user,
        name=s.validated_data.get("name") or "API",
        days=s.validated_data.get("expires_in_days"),
    )
    return Response({"token": raw, "id": token.pk, "expires_at": token.expires_at})


class MyTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens: list, create (secret shown once), revoke."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=me(self.request))

    @extend_schema(request=TokenCreateSerializer)
    def create(self, request: Request) -> Response:
        s = TokenCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        token, raw = services.token_create(
            actor=request.user,
            user=me(request),
            name=s.validated_data.get("name") or "API",
            days=s.validated_data.get("expires_in_days"),
        )
        data = TokenSerializer(token).data
        data["token"] = raw
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiToken) -> None:
        services.token_revoke(actor=self.request.user, token=instance)


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_seen_at", "ip", "user_agent", "current"]

    def get_current(self, obj: UserSession) -> bool:
        request = self.context.get("request")
        return bool(
            request and getattr(request, "session", None) and request.session.session_key == obj.session_key
        )


class MySessionViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = SessionSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return UserSession.objects.none()
        return UserSession.objects.filter(user=me(self.request))

    def perform_destroy(self, instance: UserSession) -> None:
        services.session_revoke(actor=self.request.user, session=instance)


# --- me --------------------------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(responses={200: dict}, description="The user, units, roles and effective permissions.")
    def get(self, request: Request) -> Response:
        user = me(request)
        grants = grants_for(user)
        types = {t.key for t in registry.all_types()} | set(grants.actions) - {"*"}
        effective = {}
        for t in sorted(types):
            actions = sorted(a for a in ALL_ACTIONS if grants.can(t, a))
            if actions:
                effective[t] = {"actions": actions, "scope": grants.scope(t)}
        unit = user.primary_unit
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "display_name": user.display_name,
                "name": str(user),
                "phone": user.phone,
                "language": user.language,
                "time_zone": user.time_zone,
                "unit": {"id": unit.pk, "name": unit.name, "code": unit.code} if unit else None,
                "managed_units": list(OrgUnit.objects.filter(manager=user).values("id", "name", "code")),
                "roles": [{"id": r.pk, "code": r.code, "name": r.name} for r in user.roles.all()],
                "is_administrator": grants.is_admin,
                "two_factor_enabled": user_has_2fa(user),
                "permissions": effective,
            }
        )


# --- administration: users, units, roles --------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(
        slug_field="code", queryset=Role.objects.all(), many=True, required=False
    )
    primary_unit = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True
    )
    password = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})
    two_factor_enabled = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "display_name",
            "first_name",
            "last_name",
            "phone",
            "language",
            "time_zone",
            "is_active",
            "primary_unit",
            "roles",
            "password",
            "last_login",
            "date_joined",
            "absent_until",
            "two_factor_enabled",
        ]
        read_only_fields = ["last_login", "date_joined"]

    def get_two_factor_enabled(self, obj: User) -> bool:
        return user_has_2fa(obj)


class UserViewSet(viewsets.ModelViewSet):
    admin_object_type = "user"
    permission_classes = [IsAdministrator]
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    search_fields = ("username", "display_name", "email")
    ordering_fields = ("id", "username", "date_joined")
    default_ordering = ("username",)

    def get_queryset(self) -> Any:
        qs = User.objects.filter(is_system=False).select_related("primary_unit").prefetch_related("roles")
        unit = self.request.query_params.get("unit")
        if unit:
            qs = qs.filter(primary_unit_id=int(unit)) if unit.isdigit() else qs.none()
        active = self.request.query_params.get("is_active")
        if active in ("true", "false"):
            qs = qs.filter(is_active=active == "true")
        return qs

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        roles = data.pop("roles", [])
        password = data.pop("password", None)
        if roles:
            require_step_up(self.request)  # granting roles is a permission change
        serializer.instance = services.user_create(
            actor=self.request.user, password=password, roles=roles, **data
        )

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        roles = data.pop("roles", None)
        password = data.pop("password", None)
        if roles is not None and sorted({r.code for r in roles}) != sorted(
            serializer.instance.roles.values_list("code", flat=True)
        ):
            require_step_up(self.request)  # before any write: role assignment is sensitive
        user = services.user_update(actor=self.request.user, user=serializer.instance, **data)
        if roles is not None:
            services.user_set_roles(actor=self.request.user, user=user, roles=roles)
        if password:
            services.user_set_password(actor=self.request.user, user=user, password=password)
        serializer.instance = user

    @extend_schema(request=None, description="Remove the user's two-factor devices (they must enrol again).")
    @action(detail=True, methods=["post"], url_path="reset-2fa")
    def reset_2fa(self, request: Request, pk: Any = None) -> Response:
        from .twofactor import two_factor_reset

        target = self.get_object()
        if target.pk != request.user.pk:
            require_step_up(request)
        two_factor_reset(actor=request.user, user=target)
        return Response({"two_factor_enabled": False})


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=OrgUnit.objects.all(), required=False, allow_null=True
    )
    manager = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)

    class Meta:
        model = OrgUnit
        fields = ["id", "name", "code", "kind", "parent", "manager", "path", "active", "position"]
        read_only_fields = ["path"]


class OrgUnitViewSet(viewsets.ModelViewSet):
    admin_object_type = "org_unit"
    permission_classes = [IsAdministrator]
    serializer_class = OrgUnitSerializer
    queryset = OrgUnit.objects.all().order_by("path")
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ("id", "name", "path")
    default_ordering = ("path",)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.unit_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.unit_update(
            actor=self.request.user, unit=serializer.instance, **serializer.validated_data
        )


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = [
            "id",
            "code",
            "name",
            "name_zh_hans",
            "description",
            "is_preset",
            "require_2fa",
            "permissions",
            "scopes",
            "version",
        ]
        read_only_fields = ["is_preset"]
        extra_kwargs = {"version": {"required": False}}


class RoleViewSet(viewsets.ModelViewSet):
    admin_object_type = "role"
    permission_classes = [IsAdministrator]
    serializer_class = RoleSerializer
    queryset = Role.objects.all()
    ordering_fields = ("id", "code", "name")
    default_ordering = ("id",)

    def perform_create(self, serializer: Any) -> None:
        require_step_up(self.request)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = services.role_create(actor=self.request.user, **data)

    def perform_update(self, serializer: Any) -> None:
        require_step_up(self.request)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        serializer.instance = services.role_update(
            actor=self.request.user,
            role=serializer.instance,
            version=version if version is not None else expected_version(self.request),
            **data,
        )

    def perform_destroy(self, instance: Role) -> None:
        require_step_up(self.request)
        services.role_delete(actor=self.request.user, role=instance)


# --- two-factor authentication, step-up ------------------------------------------------------------

OtpSerializer = inline_serializer("OtpInput", {"otp": serializers.CharField()})
TwoFactorStatus = inline_serializer(
    "TwoFactorStatus",
    {
        "enabled": serializers.BooleanField(),
        "required": serializers.BooleanField(),
        "pending": serializers.BooleanField(),
        "step_up_fresh": serializers.BooleanField(),
        "step_up_until": serializers.DateTimeField(allow_null=True),
    },
)
TwoFactorEnrolment = inline_serializer(
    "TwoFactorEnrolment",
    {
        "otpauth_uri": serializers.CharField(),
        "secret": serializers.CharField(),
        "qr_svg": serializers.CharField(help_text="Inline SVG markup of the QR code."),
    },
)


def _otp_from(request: Request) -> str:
    data = request.data if hasattr(request.data, "get") else {}
    return str(data.get("otp") or data.get("code") or "")


def _two_factor_status(user: User) -> dict[str, Any]:
    from .twofactor import pending_device

    enabled = user_has_2fa(user)
    fresh = enabled and step_up_fresh(user)
    return {
        "enabled": enabled,
        "required": two_factor_required(user),
        "pending": (not enabled) and pending_device(user) is not None,
        "step_up_fresh": fresh,
        "step_up_until": step_up_until(user) if fresh else None,
    }


class TwoFactorView(APIView):
    """The caller's TOTP two-factor authentication: status, start enrolment, turn off."""

    throttle_classes = [AuthThrottle]

    @extend_schema(responses={200: TwoFactorStatus})
    def get(self, request: Request) -> Response:
        return Response(_two_factor_status(me(request)))

    @extend_schema(
        request=None,
        responses={201: TwoFactorEnrolment},
        description="Start enrolment: returns the otpauth URI and a QR code (inline SVG). "
        "Confirm with POST /api/v1/me/2fa/confirm/.",
    )
    def post(self, request: Request) -> Response:
        enrolment = two_factor_start(actor=request.user, user=request.user)
        return Response(
            {"otpauth_uri": enrolment.otpauth_uri, "secret": enrolment.secret, "qr_svg": enrolment.qr_svg},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=OtpSerializer, responses={204: None}, description="Turn 2FA off (needs a code).")
    def delete(self, request: Request) -> Response:
        two_factor_disable(actor=request.user, user=request.user, code=_otp_from(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TwoFactorStartView(TwoFactorView):
    http_method_names = ["post", "options"]


class TwoFactorConfirmView(APIView):
    throttle_classes = [AuthThrottle]

    @extend_schema(request=OtpSerializer, responses={200: TwoFactorStatus})
    def post(self, request: Request) -> Response:
        two_factor_confirm(actor=request.user, user=request.user, code=_otp_from(request))
        return Response(_two_factor_status(me(request)))


class StepUpView(APIView):
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=OtpSerializer,
        responses={200: inline_serializer("StepUpResult", {"step_up_until": serializers.DateTimeField()})},
        description="Confirm a sensitive action with the current TOTP code; valid for "
        "HUOBAN_STEP_UP_MINUTES (default 10).",
    )
    def post(self, request: Request) -> Response:
        until = step_up_verify(actor=request.user, user=request.user, code=_otp_from(request))
        return Response({"step_up_until": until})


# --- passwords -----------------------------------------------------------------------------------


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    new_password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class PasswordChangeView(APIView):
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={204: None},
        description="Change your password; your other browser sessions end.",
    )
    def post(self, request: Request) -> Response:
        s = PasswordChangeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        session = getattr(request._request, "session", None)
        current = session.session_key if session is not None and request.auth is None else None
        services.password_change(
            actor=request.user,
            user=me(request),
            old_password=s.validated_data["old_password"],
            new_password=s.validated_data["new_password"],
            keep_session=current,
        )
        if current:
            from django.contrib.auth import update_session_auth_hash

            update_session_auth_hash(request._request, me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


@extend_schema(
    request=PasswordResetSerializer,
    responses={200: inline_serializer("PasswordResetResult", {"detail": serializers.CharField()})},
    auth=[],
    description="Mail a password reset link. Always answers 200, whether or not the address is known.",
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([permissions.AllowAny])
@throttle_classes([AuthThrottle])
def password_reset(request: Request) -> Response:
    s = PasswordResetSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    services.password_reset_request(
        email=s.validated_data["email"], base_url=request.build_absolute_uri("/").rstrip("/")
    )
    return Response(
        {"detail": _("If an account uses this address, a link to reset its password is on its way.")}
    )


@extend_schema(
    request=PasswordResetConfirmSerializer,
    responses={204: None},
    auth=[],
    description="Set a new password with the uid and token from the reset link.",
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([permissions.AllowAny])
@throttle_classes([AuthThrottle])
def password_reset_confirm(request: Request) -> Response:
    s = PasswordResetConfirmSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    services.password_reset_confirm(
        uid=s.validated_data["uid"],
        token=s.validated_data["token"],
        new_password=s.validated_data["new_password"],
    )
    return Response(status=status.HTTP_204_NO_CONTENT)


# --- sensitive fields ------------------------------------------------------------------------------


class RevealSerializer(serializers.Serializer):
    object_type = serializers.CharField(help_text='Object type key, e.g. "customer".')
    id = serializers.IntegerField()
    field = serializers.CharField(help_text='A sensitive field, e.g. "id_number".')


class RevealView(APIView):
    @extend_schema(
        request=RevealSerializer,
        responses={200: inline_serializer("RevealResult", {"value": serializers.CharField()})},
        description="The clear value of one sensitive field: needs view_sensitive on the type, the "
        "record in your data scope (else 404) and a fresh step-up (else 403 step_up_required). Audited.",
    )
    def post(self, request: Request) -> Response:
        from .reveal import sensitive_field_reveal

        s = RevealSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        value = sensitive_field_reveal(
            request=request,
            object_type=s.validated_data["object_type"],
            pk=s.validated_data["id"],
            field=s.validated_data["field"],
        )
        return Response({"value": value})


from django.urls import path  # noqa: E402

routes = [
    ("users", UserViewSet, "user"),
    ("units", OrgUnitViewSet, "org-unit"),
    ("roles", RoleViewSet, "role"),
    ("me/tokens", MyTokenViewSet, "my-token"),
    ("me/sessions", MySessionViewSet, "my-session"),
]
urlpatterns = [
    path("auth/token/", obtain_token, name="auth-token"),
    path("auth/password-reset/", password_reset, name="auth-password-reset"),
    path("auth/password-reset/confirm/", password_reset_confirm, name="auth-password-reset-confirm"),
    path("me/", MeView.as_view(), name="me"),
    path("me/2fa/", TwoFactorView.as_view(), name="me-2fa"),
    path("me/2fa/start/", TwoFactorStartView.as_view(), name="me-2fa-start"),
    path("me/2fa/confirm/", TwoFactorConfirmView.as_view(), name="me-2fa-confirm"),
    path("me/step-up/", StepUpView.as_view(), name="me-step-up"),
    path("me/password/", PasswordChangeView.as_view(), name="me-password"),
    path("reveal/", RevealView.as_view(), name="reveal"),
]
