"""Shared factories for the pages: theme, figure template, grid, badges, metric help, params."""
