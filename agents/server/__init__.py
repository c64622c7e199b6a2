"""The room on LangGraph Server: the graph factory `langgraph.json` names, the request a client sends, the
Postgres checkpointer. Needs the `serve` extra (langgraph-cli[inmem], langgraph-sdk,
langgraph-checkpoint-postgres) only where the server or a client runs."""
