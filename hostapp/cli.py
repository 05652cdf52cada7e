"""Placeholder; replaced by the loader work."""


def main() -> int:
    return 0
