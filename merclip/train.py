"""`python -m merclip.train`: Train MER-CLIP or LSGMER with the paper's recipe. The command lives in `merclip.training.loop`."""
from .training.loop import main

if __name__ == "__main__":
    main()
