"""Run the command-line interface with ``python -m coherence``."""

from coherence.cli import main

main()
