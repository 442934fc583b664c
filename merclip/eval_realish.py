"""`python -m merclip.eval_realish`: Score models on the real-ish evaluation set. The command lives in `merclip.serving.realish_eval`."""
from .serving.realish_eval import main

if __name__ == "__main__":
    main()
