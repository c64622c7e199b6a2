"""What running the room as a service needs below the app layer: the request a client sends a LangGraph server
(`request`) and where checkpoints live (`checkpoint`: the season folder's SQLite file or PostgreSQL). The graph
factory the server loads is `cliffhanger.app.server_graph` (it reads the app's settings)."""
