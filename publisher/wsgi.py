import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")

django_application = get_wsgi_application()

# Imported once Django is set up: it reads settings and the URL configuration.
from publisher.cache.wsgi import PageCacheFront  # noqa: E402
from publisher.request_body import DrainRequestBody  # noqa: E402

# Page-cache hits are answered here, before Django's handler (publisher/cache/wsgi.py); the
# outer layer reads every request body to its end (publisher/request_body.py).
application = DrainRequestBody(PageCacheFront(django_application))
