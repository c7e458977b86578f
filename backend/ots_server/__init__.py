"""ots-server: the self-hostable backend of ots (Starlette app, stores, operator CLI)."""
