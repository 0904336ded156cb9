"""The embedded MQTT broker for the demo: amqtt, always in a process of its own.

(In one process with paho clients amqtt drops to a fraction of its rate and floods PUBACK
timeouts; see docs/operations.md.) Run: python -m machimori.broker --port 1883
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal


def config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {
            "allow_anonymous": True}},
    }


async def serve(host: str, port: int) -> None:
    from amqtt.broker import Broker

    broker = Broker(config(host, port))
    await broker.start()
    print(f"broker listening on mqtt://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description="embedded amqtt broker for the demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    asyncio.run(serve(a.host, a.port))


if __name__ == "__main__":
    main()
