"""Helpers every app shares. Imports no app of ours, so any app may import it."""
