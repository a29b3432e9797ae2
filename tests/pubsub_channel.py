"""A topic on the Pub/Sub emulator with a subscription that counts what arrives.

For the edge processes' delivery tests (``watch``, ``poll-feeds``): the
subscription counts every message it receives, so a duplicate shows as a
count of two, not hidden by any de-duplication.
"""

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.pubsub_emulator import PROJECT
from tests.support import REPO


class Channel:
    """A topic on the emulator and a subscription that counts every message it receives."""

    def __init__(self, name: str) -> None:
        """``name`` (a test's name will do) names the topic; PUBSUB_EMULATOR_HOST must be set."""
        import google.cloud.pubsub_v1 as pubsub_v1

        name = name.replace("_", "-")[:200]
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.topic = self.publisher.topic_path(PROJECT, name)
        self.subscription = self.subscriber.subscription_path(PROJECT, f"{name}-count")
        self.publisher.create_topic(name=self.topic)
        self.subscriber.create_subscription(name=self.subscription, topic=self.topic)

    def send(self, data: bytes) -> None:
        """What ``poll-feeds`` publishes with."""
        self.publisher.publish(self.topic, data).result(timeout=30)

    def received(self, expected: int) -> collections.Counter[str]:
        """How many times each article id arrived: all of them, once ``expected`` have.

        Every publish was awaited before this is called; the last pull (3 s,
        empty unless something beyond ``expected`` came) shows nothing else came.
        """
        counts: collections.Counter[str] = collections.Counter()
        deadline = time.monotonic() + 60
        while True:
            last = counts.total() >= expected or time.monotonic() > deadline
            response = self.subscriber.pull(
                subscription=self.subscription, max_messages=100, timeout=3 if last else 10
            )
            messages = response.received_messages
            if messages:
                counts.update(json.loads(m.message.data)["id"] for m in messages)
                ack_ids = [m.ack_id for m in messages]
                self.subscriber.acknowledge(subscription=self.subscription, ack_ids=ack_ids)
            elif last:
                return counts


def threadwatch_process(args: list[str], log: Path) -> "subprocess.Popen[bytes]":
    """``threadwatch ARGS`` as its own process, to be SIGKILLed; output appended to ``log``.

    It inherits the environment: PUBSUB_EMULATOR_HOST points it at the emulator.
    """
    command = [sys.executable, "-m", "pipeline.cli", *args]
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
