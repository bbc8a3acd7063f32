"""``apscn serve``: the ledger in a browser, for a team.

``app.create_app`` builds the FastAPI application (nothing is opened at import or at build: the ledger opens
when the server starts). Each page group is a router in a module of its own, listed in ``app.ROUTERS``; pages are
rendered on the server from ``templates/web/`` (autoescaped) and work with no script. Every read and every step
goes through the same services as the CLI.
"""
