import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("COLLAPSEBOOK_SCALE", "ci")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
