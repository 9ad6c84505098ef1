from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "huoban.platform.api"
    label = "api"
    verbose_name = "Api"
