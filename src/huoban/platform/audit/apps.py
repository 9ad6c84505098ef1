from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "huoban.platform.audit"
    label = "audit"
    verbose_name = "Audit"
