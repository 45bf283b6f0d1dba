"""`python -m cli …` runs `brq`."""
from cli.main import main

main()
