"""The live dashboard: a browser view of what the engine believes (links, positions,
orders, risk use, refusals) with the trading state and the kill switch, served by
Starlette/uvicorn beside the engine (docs/dashboard.md).

tokens.py: who may look and who may act; feed.py: the engine's state polled off its
loop and pushed to each browser; actions.py: trading state and kill; app.py: the HTTP
side; static/: the page (plain HTML, CSS and JavaScript, no third-party code).
"""
