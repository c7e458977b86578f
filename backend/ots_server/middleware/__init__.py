"""The app's ASGI middleware, outermost first (see :mod:`ots_server.app`): security headers
(:mod:`.headers`), the access log and metrics (:mod:`.observe`), bearer-token authentication
(:mod:`.auth`) and rate limits (:mod:`.ratelimit`). Each wraps the next; none reads a body."""
