"""A Quart app: an HTTP route and a WebSocket echo.

Quart runs its ASGI receive loop in a task of its own, started before the handler accepts: the
server must let ``receive`` wait across the accept (issue 15).
"""

from quart import Quart, request, websocket

app = Quart(__name__)


@app.route('/')
async def index():
    return 'quart says hi'


@app.route('/echo', methods=['POST'])
async def echo():
    body = await request.get_data()
    return {'size': len(body), 'q': request.args.get('q')}


@app.websocket('/ws')
async def ws():
    while True:
        data = await websocket.receive()
        await websocket.send(data)
