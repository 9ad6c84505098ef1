from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "huoban.platform.notifications"
    label = "notifications"
    verbose_name = "Notifications"
