"""A Flask app served over WSGI."""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request, send_file, stream_with_context, url_for

app = Flask(__name__)


@app.get('/')
def index():
    return 'flask says hi'


@app.post('/json')
def echo_json():
    return jsonify(body=request.get_json(), args=request.args.to_dict(), url=url_for('index', _external=True))


@app.post('/form')
def form():
    upload = request.files['upload']
    return jsonify(name=request.form['name'], filename=upload.filename, size=len(upload.read()))


@app.post('/data')
def data():
    # A chunked upload has no content length: Werkzeug reads it thanks to wsgi.input_terminated.
    body = request.get_data()
    return jsonify(size=len(body), chunked='CONTENT_LENGTH' not in request.environ)


@app.get('/stream')
def stream():
    count = int(request.args.get('count', '10'))

    def generate():
        for index in range(count):
            yield f'line {index}\n'

    return Response(stream_with_context(generate()), mimetype='text/plain')


@app.get('/download')
def download():
    return send_file(os.environ['WSGI_TEST_FILE'], mimetype='application/octet-stream')


@app.get('/cookies')
def cookies():
    response = jsonify(dict(request.cookies))
    response.set_cookie('served', 'yes')
    return response


@app.get('/error')
def error():
    raise RuntimeError('flask view failed')
