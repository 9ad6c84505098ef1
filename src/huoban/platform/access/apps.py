from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "huoban.platform.access"
    label = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import Share
        from .scoping import shares_changed

        post_save.connect(shares_changed, sender=Share, dispatch_uid="huoban.access.shares_changed")
        post_delete.connect(shares_changed, sender=Share, dispatch_uid="huoban.access.shares_changed.del")
