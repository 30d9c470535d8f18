"""A one-file Django project served over ASGI."""

import django
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY='test-only',
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=['*'],
    MIDDLEWARE=[],
)
django.setup()


def index(request):
    return HttpResponse('django says hi')


async def info(request):
    return JsonResponse({'method': request.method, 'path': request.path, 'q': request.GET.get('q')})


urlpatterns = [path('', index), path('info', info)]

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
