from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "huoban.platform.api"
    label = "api"
    verbose_name = "Api"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI extensions)
