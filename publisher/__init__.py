"""Milkbot's publisher: reads only the delayed, sanitised `analytics` views and builds the static site.

It must never import `daemon` and must run with no trading credential in its environment.
"""
