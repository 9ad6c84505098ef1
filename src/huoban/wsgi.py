import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoban.settings")
application = get_wsgi_application()

from huoban.startup import freeze_startup_heap  # noqa: E402

freeze_startup_heap()
