"""Identity API: tokens, me, users, org units, roles, own sessions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from huoban.platform.access import registry
from huoban.platform.access.scoping import grants_for, has_perm
from huoban.platform.errors import PermissionDeniedError, ValidationError

from . import services
from .models import ApiToken, OrgUnit, Role, User, UserSession


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


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


def _verify_otp(user: User, code: str) -> bool:
    from django_otp import match_token

    return bool(code) and match_token(user, code.strip()) is not None


def user_has_2fa(user: User) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


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
def obtain_token(request: Request) -> Response:
    s = TokenRequestSerializer(data=request.data)
    s.is_valid(raise_exception=True)
    user = authenticate(
        request._request, username=s.validated_data["username"], password=s.validated_data["password"]
    )
    if user is None:
        return Response(
            {"detail": _("Invalid username or password."), "code": "invalid_credentials"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if user_has_2fa(user):
        if not _verify_otp(user, s.validated_data.get("otp", "")):
            return Response(
                {"otp": [_("Enter the current code from your authenticator app.")]},
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
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(
        request=inline_serializer(
            "TokenCreate", {"name": serializers.CharField(), "expires_in_days": serializers.IntegerField()}
        )
    )
    def create(self, request: Request) -> Response:
        name = str(request.data.get("name") or "API")
        days = request.data.get("expires_in_days")
        token, raw = services.token_create(
            actor=request.user,
            user=request.user,
            name=name,
            days=int(days) if days not in (None, "") else None,
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
        return UserSession.objects.filter(user=self.request.user)

    def perform_destroy(self, instance: UserSession) -> None:
        services.session_revoke(actor=self.request.user, session=instance)


# --- me --------------------------------------------------------------------------------------------


class MeView(APIView):
    @extend_schema(responses={200: dict}, description="The user, units, roles and effective permissions.")
    def get(self, request: Request) -> Response:
        user = request.user
        grants = grants_for(user)
        types = {t.key for t in registry.all_types()} | set(grants.actions) - {"*"}
        effective = {}
        for t in sorted(types):
            actions = sorted(
                a
                for a in [
                    "view",
                    "add",
                    "change",
                    "delete",
                    "export",
                    "import",
                    "assign",
                    "merge",
                    "approve",
                    "view_sensitive",
                    "manage",
                ]
                if grants.can(t, a)
            )
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
            qs = qs.filter(primary_unit_id=unit)
        active = self.request.query_params.get("is_active")
        if active in ("true", "false"):
            qs = qs.filter(is_active=active == "true")
        return qs

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        roles = data.pop("roles", [])
        password = data.pop("password", None)
        serializer.instance = services.user_create(
            actor=self.request.user, password=password, roles=roles, **data
        )

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        roles = data.pop("roles", None)
        password = data.pop("password", None)
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

        two_factor_reset(actor=request.user, user=self.get_object())
        return Response({"two_factor_enabled": False})


class OrgUnitSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
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
        data = dict(serializer.validated_data)
        data.pop("version", None)
        serializer.instance = services.role_create(actor=self.request.user, **data)

    def perform_update(self, serializer: Any) -> None:
        from .stepup import require_step_up

        require_step_up(self.request)
        data = dict(serializer.validated_data)
        version = data.pop("version", None) or self.request.headers.get("If-Match", "").strip('"') or None
        serializer.instance = services.role_update(
            actor=self.request.user, role=serializer.instance, version=version, **data
        )

    def perform_destroy(self, instance: Role) -> None:
        services.role_delete(actor=self.request.user, role=instance)


def _raise(errors: dict[str, Any]) -> None:
    raise ValidationError(errors)


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
    path("me/", MeView.as_view(), name="me"),
]
