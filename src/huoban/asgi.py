import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")
application = get_asgi_application()

from huoban.startup import freeze_startup_heap  # noqa: E402

freeze_startup_heap()
