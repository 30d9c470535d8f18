"""A one-file Django project served over WSGI."""

from __future__ import annotations

import os

import django
from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY='test-only',
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=['*'],
    MIDDLEWARE=[],
    DATA_UPLOAD_MAX_MEMORY_SIZE=None,
)
django.setup()


def index(request):
    return HttpResponse('django says hi')


def info(request):
    return JsonResponse(
        {
            'method': request.method,
            'path': request.path,
            'path_info': request.path_info,
            'script_name': request.META['SCRIPT_NAME'],
            'q': request.GET.getlist('q'),
            'remote_addr': request.META['REMOTE_ADDR'],
            'absolute': request.build_absolute_uri(),
            'cookies': request.COOKIES,
        }
    )


def upload(request):
    uploaded = request.FILES['upload']
    return JsonResponse({'name': request.POST['name'], 'filename': uploaded.name, 'size': uploaded.size})


def body(request):
    return JsonResponse({'size': len(request.body)})


def stream(request):
    count = int(request.GET.get('count', '10'))
    return StreamingHttpResponse((f'row {index}\n' for index in range(count)), content_type='text/plain')


def download(request):
    return FileResponse(open(os.environ['WSGI_TEST_FILE'], 'rb'), content_type='application/octet-stream')


urlpatterns = [
    path('', index),
    path('info', info),
    path('upload', upload),
    path('body', body),
    path('stream', stream),
    path('download', download),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
