"""The public web-to-lead endpoint: ``/forms/<form_key>/`` (no login, rate-limited, honeypot).

POST form-encoded or JSON → 201 JSON ``{"ok": true, "message"}`` for JSON clients, or the
thank-you page (or a redirect to the form's ``redirect_url``) for browsers. GET shows a hosted
version of the form (handy for a link or for testing the embed).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers, permissions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from huoban.platform.errors import ValidationError

from .models import WebForm
from .services import HONEYPOT, web_form_submit
from .snippet import FIELD_LABELS, INPUT_TYPES, field_choices


class WebFormThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


def _wants_json(request: Request) -> bool:
    ctype = (request.content_type or "").split(";")[0].strip()
    accept = request.META.get("HTTP_ACCEPT", "")
    if ctype == "application/json":
        return "text/html" not in accept
    return "application/json" in accept and "text/html" not in accept


def _form(form_key: str) -> WebForm | None:
    return WebForm.objects.unrestricted().filter(key=form_key, active=True, deleted_at__isnull=True).first()


def _fields(
    form: WebForm, values: dict[str, Any] | None = None, errors: dict[str, Any] | None = None
) -> list[dict]:
    values, errors = values or {}, errors or {}
    return [
        {
            "name": name,
            "label": FIELD_LABELS.get(name, name),
            "required": name in (form.required_fields or []),
            "choices": field_choices(name),
            "value": values.get(name, ""),
            "errors": errors.get(name, []),
            "kind": INPUT_TYPES.get(name, "text"),
        }
        for name in form.fields or []
    ]


SubmitResult = inline_serializer(
    "WebFormSubmitted", {"ok": serializers.BooleanField(), "message": serializers.CharField()}
)


class PublicWebFormView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [WebFormThrottle]
    throttle_scope = "webform"
    parser_classes = [parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser]
    renderer_classes = [JSONRenderer]

    def get_throttles(self) -> list[Any]:
        # the hosted page itself is not rate-limited, only submissions
        return [] if self.request.method == "GET" else super().get_throttles()

    @extend_schema(exclude=True)
    def get(self, request: Request, form_key: str) -> HttpResponse:
        form = _form(form_key)
        if form is None:
            return render(request._request, "leads/public_form_missing.html", status=404)
        return render(request._request, "leads/public_form.html", {"form": form, "fields": _fields(form)})

    @extend_schema(
        operation_id="public_web_form_submit",
        tags=["public"],
        auth=[],
        request={
            "application/json": {"type": "object", "additionalProperties": {"type": "string"}},
            "application/x-www-form-urlencoded": {
                "type": "object",
                "additionalProperties": {"type": "string"},
            },
        },
        responses={201: SubmitResult},
        description="Public web-to-lead submission (no login; rate-limited per client address; a filled "
        f"`{HONEYPOT}` field marks a bot and is silently dropped). The form's fields are accepted; the "
        "lead gets the form's source. JSON clients get 201 JSON; browsers the thank-you page.",
    )
    def post(self, request: Request, form_key: str) -> Any:
        form = _form(form_key)
        wants_json = _wants_json(request)
        if form is None:
            if wants_json:
                return Response({"detail": _("Not found."), "code": "not_found"}, status=404)
            return render(request._request, "leads/public_form_missing.html", status=404)
        data = request.data
        values = {k: data.get(k) for k in [*(form.fields or []), HONEYPOT]} if hasattr(data, "get") else {}
        try:
            web_form_submit(form=form, data=values)
        except ValidationError as exc:
            if wants_json:
                return Response(exc.errors, status=400)
            return render(
                request._request,
                "leads/public_form.html",
                {"form": form, "fields": _fields(form, values, exc.errors), "errors": exc.errors},
                status=400,
            )
        message = form.thank_you_text or _("Thank you! We will get in touch with you soon.")
        if wants_json:
            return Response({"ok": True, "message": message}, status=201)
        if form.redirect_url:
            return HttpResponseRedirect(form.redirect_url)
        return render(
            request._request, "leads/thank_you.html", {"form": form, "message": message}, status=200
        )
