#!/usr/bin/env python3
"""Chat clients for scripts/compose-check.sh, using only Python's standard library.

Speaks the chat protocol (/work/shared/PROTOCOL.md) over a minimal WebSocket client (RFC 6455:
the opening handshake, masked text frames out, text/ping/close frames in). Each phase prints one
line per fact it checked and exits 0 only when all of them held:

  compose-chat.py chat     --room R --text T
      A and B join R; A posts T; B receives it with a timestamp and A receives its own echo.
  compose-chat.py failover --room R --text T --kill CMD [--bound 60] [--no-errors]
      A and B join R and exchange one message (so the room is active), CMD runs (it kills a silo),
      then A posts T (with an id, so a resend after a reconnect is stored once) until both A and B
      have it, reconnecting whenever the gateway closes a socket (1012 when the room moved).
  compose-chat.py history  --room R --expect T1 --expect T2 ...
      A new client C joins R and finds every T in the history it gets before {"ready": true},
      in that order, with strictly increasing timestamps.
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import time
import uuid

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STARTED = time.monotonic()

# What the failover phase saw go wrong: error frames and sockets the server closed (--no-errors fails on any).
TROUBLE = []


def log(text):
    print(f"  [{time.monotonic() - STARTED:6.1f}s] {text}", flush=True)


class Closed(Exception):
    """The server closed the socket (code None: the connection just ended)."""

    def __init__(self, code, reason=""):
        super().__init__(f"closed: {code} {reason}".strip())
        self.code = code


class WebSocket:
    """One client socket: text frames only, which is all the chat protocol uses."""

    def __init__(self, host, port, path, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        self.fragments = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv_some(deadline)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise ConnectionError(f"upgrade refused: {lines[0]}")
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        expected = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise ConnectionError("bad Sec-WebSocket-Accept")

    def _recv_some(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError() from None
        except OSError as error:
            raise Closed(None, str(error)) from None
        if not chunk:
            raise Closed(None, "connection ended")
        return chunk

    def _take_frame(self):
        """Removes one whole frame from the buffer: (opcode, final, payload), or None if incomplete.

        Nothing is consumed from a partial frame, so a read that times out loses nothing."""
        if len(self.buffer) < 2:
            return None
        first, second = self.buffer[0], self.buffer[1]
        size, offset = second & 0x7F, 2
        if size == 126:
            if len(self.buffer) < 4:
                return None
            size, offset = struct.unpack(">H", self.buffer[2:4])[0], 4
        elif size == 127:
            if len(self.buffer) < 10:
                return None
            size, offset = struct.unpack(">Q", self.buffer[2:10])[0], 10
        if len(self.buffer) < offset + size:
            return None
        payload = self.buffer[offset:offset + size]
        self.buffer = self.buffer[offset + size:]
        return first & 0x0F, bool(first & 0x80), payload

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        size = len(payload)
        if size < 126:
            header += bytes([0x80 | size])
        elif size < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", size)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.sendall(header + mask + masked)
        except OSError as error:
            raise Closed(None, str(error)) from None

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def receive_text(self, timeout):
        """The next text message; TimeoutError when none came in time, Closed when the socket ended."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self._take_frame()
            if frame is None:
                self.buffer += self._recv_some(deadline)
                continue
            opcode, final, payload = frame
            if opcode == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(code, payload[2:].decode(errors="replace"))
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode in (0x1, 0x0):
                self.fragments += payload
                if final:
                    message, self.fragments = self.fragments.decode(), b""
                    return message

    def close(self):
        try:
            self._send_frame(0x8, struct.pack(">H", 1000))
        except Closed:
            pass
        self.sock.close()


class Member:
    """A chat user in one room: joins, posts, and remembers every chat message it has seen."""

    def __init__(self, args, name):
        self.args, self.name = args, name
        self.ws = None
        self.seen = {}  # message text -> timestamp

    def join(self):
        """Connects and names itself; returns the history (chat messages) sent before ready."""
        self.ws = WebSocket(self.args.host, self.args.port, f"/api/room/{self.args.room}/websocket")
        self.ws.send_text(json.dumps({"name": self.name}))
        history = []
        deadline = time.monotonic() + 30
        while True:
            frame = self.next_frame(deadline - time.monotonic())
            if frame.get("ready") is True:
                return history
            if "error" in frame:
                raise RuntimeError(f"{self.name}: error while joining: {frame['error']}")
            if "message" in frame:
                history.append(frame)

    def next_frame(self, timeout):
        frame = json.loads(self.ws.receive_text(max(timeout, 0.01)))
        if "message" in frame and "timestamp" in frame:
            self.seen.setdefault(frame["message"], frame["timestamp"])
        return frame

    def post(self, text, message_id=None):
        frame = {"message": text}
        if message_id:
            frame["id"] = message_id
        self.ws.send_text(json.dumps(frame))

    def wait_for(self, text, timeout):
        """Reads frames until the chat message `text` arrives; returns its frame."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(deadline - time.monotonic())
            if frame.get("message") == text and "name" in frame:
                return frame
            if "error" in frame:
                raise RuntimeError(f"{self.name}: error frame: {frame['error']}")

    def close(self):
        if self.ws:
            self.ws.close()
            self.ws = None

    def drop(self):
        """Forgets a broken socket without a closing handshake."""
        if self.ws:
            self.ws.sock.close()
            self.ws = None


def check_message(frame, sender, text):
    timestamp = frame.get("timestamp")
    if frame.get("name") != sender or frame.get("message") != text:
        raise AssertionError(f"unexpected frame {frame}")
    if not isinstance(timestamp, int) or timestamp < 1_500_000_000_000:
        raise AssertionError(f"bad timestamp in {frame}")
    return timestamp


def exchange(a, b, text, message_id=None):
    """A posts `text`; B must receive it with a timestamp, and A its own echo."""
    sent = time.monotonic()
    a.post(text, message_id)
    received = b.wait_for(text, 15)
    timestamp = check_message(received, a.name, text)
    log(f"{b.name} received {text!r} from {a.name}, timestamp {timestamp} "
        f"({(time.monotonic() - sent) * 1000:.0f} ms)")
    echo = a.wait_for(text, 15)
    if check_message(echo, a.name, text) != timestamp:
        raise AssertionError(f"echo timestamp differs: {echo} vs {received}")
    log(f"{a.name} received its own echo of {text!r}, same timestamp")


def phase_chat(args):
    a, b = Member(args, "alice"), Member(args, "bob")
    a.join()
    log(f"alice joined room {args.room!r}")
    b.join()
    log(f"bob joined room {args.room!r}")
    exchange(a, b, args.text)
    a.close()
    b.close()


def phase_failover(args):
    a, b = Member(args, "carol"), Member(args, "dave")
    a.join()
    b.join()
    log(f"carol and dave joined room {args.room!r}")
    exchange(a, b, args.text + " (before)")

    result = subprocess.run(args.kill, shell=True, capture_output=True, text=True)
    sys.stdout.write("".join(f"  | {line}\n" for line in result.stdout.splitlines()))
    if result.returncode != 0:
        raise RuntimeError(f"kill command failed: {result.stderr.strip()}")
    started = time.monotonic()
    log("killed; carol posts until both have the message")

    # The same id on every attempt: the room stores and relays the message at most once.
    message_id = uuid.uuid4().hex
    deadline = started + args.bound
    attempts, reconnects, posted_at = 0, 0, None
    while not all(args.text in m.seen for m in (a, b)):
        if time.monotonic() > deadline:
            raise AssertionError(f"the chat did not resume within {args.bound:.0f} s "
                                 f"({attempts} posts, {reconnects} reconnects)")
        for member in (a, b):
            if member.ws is None:
                # A rejoin gets the history, which holds the message if it was stored meanwhile.
                try:
                    member.join()
                    reconnects += 1
                    log(f"{member.name} reconnected")
                except (Closed, OSError, ConnectionError, RuntimeError, TimeoutError) as error:
                    log(f"{member.name} could not rejoin yet ({error})")
                    member.drop()
                    time.sleep(1)
        if a.ws and args.text not in a.seen and (posted_at is None or time.monotonic() - posted_at > 5):
            try:
                a.post(args.text, message_id)
                attempts += 1
                posted_at = time.monotonic()
            except Closed:
                a.drop()
        for member in (a, b):
            if member.ws and args.text not in member.seen:
                pump(member, 0.5)
    timestamps = {a.seen[args.text], b.seen[args.text]}
    if len(timestamps) != 1:
        raise AssertionError(f"carol and dave saw different timestamps: {timestamps}")
    log(f"after the kill: {args.text!r} reached carol and dave (timestamp {timestamps.pop()}) "
        f"{time.monotonic() - started:.1f} s after the kill, {attempts} post(s), {reconnects} reconnect(s)")
    if args.no_errors and (TROUBLE or reconnects):
        raise AssertionError(f"the fault showed: {TROUBLE}, {reconnects} reconnect(s)")
    if args.no_errors:
        log("no error frame, no socket closed")
    a.close()
    b.close()


def pump(member, timeout):
    """Reads one frame if one comes in time; forgets the member's socket when it closed."""
    try:
        frame = member.next_frame(timeout)
    except TimeoutError:
        return
    except (Closed, OSError, ValueError) as error:
        log(f"{member.name}'s socket closed ({error})")
        TROUBLE.append(f"{member.name}'s socket closed ({error})")
        member.drop()
        return
    if "error" in frame:
        log(f"{member.name} got {frame}")
        TROUBLE.append(f"{member.name} got {frame}")


def phase_history(args):
    c = Member(args, "erin")
    history = c.join()
    texts = [frame["message"] for frame in history]
    log(f"erin joined room {args.room!r}; history before ready: {len(history)} message(s)")
    positions = []
    for text in args.expect:
        if text not in texts:
            raise AssertionError(f"{text!r} missing from the history {texts}")
        positions.append(texts.index(text))
    if positions != sorted(positions):
        raise AssertionError(f"history out of order: {texts}")
    stamps = [frame["timestamp"] for frame in history]
    if any(later <= earlier for earlier, later in zip(stamps, stamps[1:])):
        raise AssertionError(f"timestamps not strictly increasing: {stamps}")
    log(f"the history holds {', '.join(repr(t) for t in args.expect)} in order, timestamps increasing")
    c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["chat", "failover", "history"])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--room", required=True)
    parser.add_argument("--text")
    parser.add_argument("--kill", help="failover: the shell command that kills a silo")
    parser.add_argument("--bound", type=float, default=60.0, help="failover: seconds allowed")
    parser.add_argument("--no-errors", action="store_true", help="failover: fail on any error frame or closed socket")
    parser.add_argument("--expect", action="append", default=[], help="history: a message text")
    args = parser.parse_args()
    try:
        {"chat": phase_chat, "failover": phase_failover, "history": phase_history}[args.phase](args)
    except (AssertionError, RuntimeError, ConnectionError, Closed, TimeoutError, OSError) as error:
        print(f"  FAILED ({args.phase}): {type(error).__name__}: {error}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
