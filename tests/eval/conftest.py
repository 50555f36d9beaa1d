"""The evaluation tests train tiny lifters with the training tests' fixtures."""

from tests.metrabs.conftest import _one_thread  # noqa: F401
from tests.train.conftest import make_config, source_factory, synthetic_source  # noqa: F401
