from django.apps import AppConfig, apps


class RecordsConfig(AppConfig):
    name = "huoban.platform.records"
    label = "records"
    verbose_name = "Records"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from huoban.platform.access import registry

        from .models import BaseRecord, Picklist, PicklistValue
        from .picklists import clear_cache

        for sender in (Picklist, PicklistValue):
            post_save.connect(
                clear_cache, sender=sender, dispatch_uid=f"huoban.picklists.save.{sender.__name__}"
            )
            post_delete.connect(
                clear_cache, sender=sender, dispatch_uid=f"huoban.picklists.del.{sender.__name__}"
            )

        for model in apps.get_models():
            if issubclass(model, BaseRecord) and model.object_type:
                registry.register(
                    registry.ObjectType(
                        key=model.object_type,
                        model=model,
                        resource=model.resource or f"{model._meta.model_name}s",
                        label=model._meta.verbose_name,
                        label_plural=model._meta.verbose_name_plural,
                        sensitive_fields=tuple(model.sensitive_fields),
                        search_fields=tuple(model.search_fields),
                        module=model._meta.app_label,
                    )
                )
