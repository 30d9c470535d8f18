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
        WebSocketRoute('/ws', websocket),
    ],
    lifespan=lifespan,
)
