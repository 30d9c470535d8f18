import asyncio
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket


@asynccontextmanager
async def lifespan(app):
    yield {'greeting': 'hello from lifespan'}


async def home(request: Request):
    return PlainTextResponse(request.state.greeting)


async def echo(request: Request):
    body = await request.body()
    return JSONResponse({'size': len(body), 'query': dict(request.query_params), 'path': request.url.path})


async def stream(request: Request):
    async def gen():
        for idx in range(5):
            yield f'{idx}\n'

    return StreamingResponse(gen(), media_type='text/plain')


async def endless(request: Request):
    """Streams until the client leaves (or 20 s pass): with ASGI spec 2.4 Starlette learns of it
    from send() raising, not from a disconnect listener."""

    async def gen():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            yield b'x' * 16384
            await asyncio.sleep(0)

    return StreamingResponse(gen(), media_type='application/octet-stream')


async def websocket(ws: WebSocket):
    await ws.accept()
    message = await ws.receive_text()
    await ws.send_text(f'{ws.state.greeting}: {message}')
    await ws.close()


app = Starlette(
    routes=[
        Route('/', home),
        Route('/echo', echo, methods=['POST']),
        Route('/stream', stream),
        Route('/endless', endless),
        WebSocketRoute('/ws', websocket),
    ],
    lifespan=lifespan,
)
