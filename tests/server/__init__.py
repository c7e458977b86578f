"""Tests of the ots backend (ots_server): store contract, HTTP API, real-server properties."""
