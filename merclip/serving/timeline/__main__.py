"""`python -m merclip.serving.timeline`: the same command as `python -m merclip.timeline`."""
from .cli import main

raise SystemExit(main())
