"""The in-memory store (tests and benchmarks only): :mod:`.store`, with its request half in
:mod:`.requests`. Single process, nothing durable."""
