from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "huoban.platform.jobs"
    label = "jobs"
    verbose_name = "Jobs"
