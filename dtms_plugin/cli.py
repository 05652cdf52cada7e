"""Placeholder; replaced by `dtms serve`."""


def main() -> int:
    return 0
