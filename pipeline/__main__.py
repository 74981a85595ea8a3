"""`python -m pipeline` runs the same CLI as the `buildos-analytics` console script."""

from pipeline.cli import main

main()
