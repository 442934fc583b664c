"""`python -m merclip.evaluate`: Evaluate a checkpoint with the paper's metrics. The command lives in `merclip.training.evaluate`."""
from .training.evaluate import main

if __name__ == "__main__":
    main()
