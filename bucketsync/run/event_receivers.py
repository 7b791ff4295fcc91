"""Where notifications come from: an HTTP endpoint the server pushes to, an AMQP queue, an SQS queue.

Each receiver hands what it gets to `take_in` (the watcher's: durable before it returns) and only then
answers: 200 to the HTTP push, `ack` to the AMQP message, DeleteMessage to SQS. If `take_in` fails (the
journal cannot write), the HTTP push gets a 503 (a persistent RGW topic retries it), the AMQP message is
requeued and the SQS message becomes visible again after its visibility timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..core.events import Change, NotificationFormatError, changes_from_notification

log = logging.getLogger(__name__)

TakeIn = Callable[[list[Change]], None]
MAX_BODY = 16 * 1024 * 1024


def parse_listen_address(text: str) -> tuple[str, int]:
    """`PORT` or `HOST:PORT` (loopback by default: a notification endpoint is not for the world)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--events-http takes [HOST:]PORT, not {text!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


class _PushServer(ThreadingHTTPServer):
    # A synchronous RGW topic opens a connection per PUT in flight; socketserver's default backlog of 5
    # overflows at tens of PUTs a second on a busy machine, and each refused SYN costs the writer a
    # retransmit (1 s and more) or the event (RGW gives up on the push).
    request_queue_size = 1024
    daemon_threads = True


class HttpReceiver:
    """Answers every POST whose body is a notification with 200 once it is taken in; GET/HEAD say it lives."""

    def __init__(self, address: tuple[str, int], take_in: TakeIn) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
                log.debug("events http: " + format, *args)

            def _answer(self, status: int, text: str = "") -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(200, "bucketsync watch\n")

            do_HEAD = do_GET

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, "too large\n")
                    return
                body = self.rfile.read(length)
                try:
                    changes = changes_from_notification(body)
                except NotificationFormatError as exc:
                    self._answer(400, f"not a bucket notification: {exc}\n")
                    return
                try:
                    receiver.take_in(changes)
                except Exception as exc:  # noqa: BLE001 - the server retries a persistent topic's push
                    log.error("events http: could not take in %d changes: %s", len(changes), exc)
                    self._answer(503, "not taken in\n")
                    return
                self._answer(200)

        self.take_in = take_in
        self.server = _PushServer(address, Handler)
        self.address = self.server.server_address[:2]
        self._thread = threading.Thread(target=self.server.serve_forever, name="bucketsync-events-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("watch: taking notifications over HTTP at http://%s:%d/", *self.address)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SqsReceiver:
    """Long-polls an SQS queue (AWS's bucket notifications; moto's server delivers into its own SQS)."""

    def __init__(self, client, queue_url: str, take_in: TakeIn, wait_seconds: int = 10) -> None:
        self.client, self.queue_url, self.take_in, self.wait_seconds = client, queue_url, take_in, wait_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="bucketsync-events-sqs", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("watch: taking notifications from SQS %s", self.queue_url)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(self.wait_seconds + 5)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                answer = self.client.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                     WaitTimeSeconds=self.wait_seconds)
            except Exception as exc:  # noqa: BLE001 - botocore retried already; keep polling
                log.warning("watch: SQS receive failed: %s", exc)
                self._stopping.wait(2)
                continue
            done = []
            for message in answer.get("Messages", []):
                try:
                    changes = changes_from_notification(message.get("Body", ""))
                except NotificationFormatError as exc:
                    log.warning("watch: SQS message %s is not a bucket notification (%s): deleted",
                                message.get("MessageId"), exc)
                    changes = []
                try:
                    self.take_in(changes)
                except Exception as exc:  # noqa: BLE001 - left in the queue: visible again later
                    log.error("watch: could not take in an SQS message: %s", exc)
                    continue
                done.append({"Id": str(len(done)), "ReceiptHandle": message["ReceiptHandle"]})
            if done:
                self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=done)


def parse_amqp_url(url: str) -> tuple[str, str, str]:
    """`amqp://USER:PASS@HOST:PORT/VHOST?exchange=EXCHANGE[&topic=TOPIC]` -> (connection URL, exchange, topic).

    The topic is the routing key the server publishes with (RGW: the topic's name); '#' (everything) if
    not given."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError("--events-amqp takes an amqp:// or amqps:// URL")
    query = parse_qs(parts.query)
    exchange = (query.get("exchange") or [""])[0]
    if not exchange:
        raise ValueError("--events-amqp needs ?exchange=EXCHANGE (the exchange the server publishes to)")
    topic = (query.get("topic") or ["#"])[0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), exchange, topic


class AmqpReceiver:
    """Consumes a durable queue bound to the exchange the server publishes to; acks what is taken in."""

    def __init__(self, url: str, take_in: TakeIn, queue_name: str) -> None:
        self.connection_url, self.exchange_name, self.topic = parse_amqp_url(url)
        self.take_in, self.queue_name = take_in, queue_name
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._consume_forever, name="bucketsync-events-amqp", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("watch: taking notifications from AMQP exchange %r (routing key %r) through queue %r",
                 self.exchange_name, self.topic, self.queue_name)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _consume_forever(self) -> None:
        from kombu import Connection, Exchange, Queue

        exchange = Exchange(self.exchange_name, type="topic", durable=True)
        queue = Queue(self.queue_name, exchange=exchange, routing_key=self.topic, durable=True)
        while not self._stopping.is_set():
            try:
                with Connection(self.connection_url, connect_timeout=5) as connection:
                    with connection.Consumer(queue, callbacks=[self._on_message], accept=None, prefetch_count=64):
                        while not self._stopping.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except TimeoutError:
                                continue
            except Exception as exc:  # noqa: BLE001 - a broker restart: connect again
                if not self._stopping.is_set():
                    log.warning("watch: AMQP connection lost (%s); reconnecting", exc)
                    self._stopping.wait(2)

    def _on_message(self, body, message) -> None:
        try:
            changes = changes_from_notification(message.body if isinstance(message.body, (bytes, str)) else body)
        except NotificationFormatError as exc:
            log.warning("watch: AMQP message is not a bucket notification (%s): dropped", exc)
            message.ack()
            return
        try:
            self.take_in(changes)
        except Exception as exc:  # noqa: BLE001
            log.error("watch: could not take in an AMQP message: %s; requeued", exc)
            message.requeue()
            return
        message.ack()
