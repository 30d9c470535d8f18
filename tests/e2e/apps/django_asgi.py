"""A one-file Django project served over ASGI."""

import asyncio
import time

import django
from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
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


async def endless(request):
    """Streams until the client leaves (or 20 s pass)."""

    async def gen():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            yield b'x' * 16384
            await asyncio.sleep(0)

    return StreamingHttpResponse(gen())


urlpatterns = [path('', index), path('info', info), path('endless', endless)]

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()
