"""`python -m merclip.export`: Export a split's embeddings for the Studio's projections. The command lives in `merclip.training.export`."""
from .training.export import main

if __name__ == "__main__":
    main()
