from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "huoban.platform.access"
    label = "access"
    verbose_name = "Access"
