"""`python -m dashscope_embeddings.cli`: the same as the `dashscope-embeddings` command."""

import sys

from . import main

sys.exit(main())
