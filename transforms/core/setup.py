"""Process-wide setup, done by explicit calls and never as a side effect of an import.

``register()`` puts threadwatch's Beam coders into Beam's coder registry:
the graph (``pipeline.graph.build_graph``, ``ClusterStories.expand``) needs
them when it infers the coder of a PCollection of ``EmbeddedArticle``, and a
worker that rebuilds a transform needs them too, so the command line, the
graph building and the clustering DoFn's ``setup()`` call it (it is
idempotent). ``offline_model_hub()`` makes the Hugging Face libraries fail
instead of downloading: the packaged model must never be fetched; the
embedding backends call it before they import those libraries.
"""

import os

from apache_beam.coders.typecoders import registry

from transforms.core.coders import EmbeddedArticleCoder, FeedbackMarkCoder, TrackerInputCoder
from transforms.core.feedback import FeedbackMark, TrackerInput
from transforms.core.records import EmbeddedArticle

#: The packaged model must never be fetched from a hub: these make the
#: Hugging Face libraries fail instead of downloading.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def register() -> None:
    """Registers threadwatch's coders with Beam (idempotent)."""
    registry.register_coder(EmbeddedArticle, EmbeddedArticleCoder)
    registry.register_coder(TrackerInput, TrackerInputCoder)
    registry.register_coder(FeedbackMark, FeedbackMarkCoder)


def offline_model_hub() -> None:
    """Sets the offline switches of the Hugging Face libraries, unless already set."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
