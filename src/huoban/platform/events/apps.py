from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "huoban.platform.events"
    label = "events"
    verbose_name = "Events"
