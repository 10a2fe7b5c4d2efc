"""Allow ``python -m gmgclim`` (and ``torchrun -m gmgclim``)."""

from gmgclim.cli import main

if __name__ == "__main__":
    main()
