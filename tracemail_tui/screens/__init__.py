"""Textual screens: each composes widgets and asks the store query API."""
