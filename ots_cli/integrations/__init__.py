"""Handing secrets to other programs: GitHub Actions (masks, env files) and a child
process (``ots run``).
"""
