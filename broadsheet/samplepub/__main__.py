"""``python -m broadsheet.samplepub``: serve the fictional outlets in the foreground."""

from __future__ import annotations

import argparse
import threading

from broadsheet.samplepub.server import SamplePublisher


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve Broadsheet's sample outlets on loopback.")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--scale", type=int, default=1, help="multiply the corpus for benchmarks")
    parser.add_argument("--feed-size", type=int, default=50, help="items per feed page")
    args = parser.parse_args(argv)
    publisher = SamplePublisher(args.host, args.port, scale=args.scale, feed_size=args.feed_size)
    publisher.start()
    print(f"Sample publisher at {publisher.base_url}/ ({len(publisher.corpus.articles)} articles)")
    for feed in publisher.feeds(main_only=True):
        print(f"  {feed.url}  {feed.format}  {feed.outlet_name}")
    print("Section feeds are listed on the index page. Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        publisher.stop()


if __name__ == "__main__":
    main()
