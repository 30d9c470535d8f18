"""An app that, like Django, refuses lifespan scopes by raising."""

CALLS = []


async def app(scope, receive, send):
    CALLS.append(scope['type'])
    if scope['type'] != 'http':
        raise ValueError('only http here')
    body = ','.join(CALLS).encode()
    await send({'type': 'http.response.start', 'status': 200, 'headers': []})
    await send({'type': 'http.response.body', 'body': body})
