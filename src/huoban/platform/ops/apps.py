from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "huoban.platform.ops"
    label = "ops"
    verbose_name = "Operations"
