from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "huoban.platform.ui"
    label = "ui"
    verbose_name = "Ui"
