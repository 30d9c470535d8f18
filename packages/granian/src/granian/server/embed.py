from granian_server.embed import Server as Server

__all__ = ['Server']
