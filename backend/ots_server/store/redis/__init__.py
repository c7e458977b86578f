"""The Redis store (several instances share one Redis, Sentinel or Cluster): :mod:`.store` is
the store itself; its Lua scripts are in :mod:`.scripts`, :mod:`.request_scripts` and
:mod:`.account_scripts` (sharing :mod:`.lua`), the connection and error translation in
:mod:`.client`, the URL grammar in :mod:`.url`, the start-up checks in :mod:`.preflight`, the
shared rate limiter in :mod:`.limiter`, and the account and request halves in
:mod:`.accounts` and :mod:`.requests`.
"""
