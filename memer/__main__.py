from memer.cli import run

run()
