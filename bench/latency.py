"""Per-message latency: `sessions` concurrent clients, no pipelining; each message is timed
from sending MAIL to the 250 after the final dot. A session reconnects after `per_session`
messages (OpenSMTPD allows 100 per session by default)."""

import asyncio
import time

from servers import RECIPIENT, SENDER


async def _reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if line[3:4] != b"-":
            return line


async def _expect(reader, code):
    line = await _reply(reader)
    if not line.startswith(code):
        raise RuntimeError(f"expected {code!r}, got {line[:80]!r}")


async def _session(port, count, body, per_session, samples):
    done = 0
    while done < count:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _expect(reader, b"220")
        writer.write(b"EHLO latency.bench.test\r\n")
        await _expect(reader, b"250")
        n = 0
        while n < per_session and done < count:
            t0 = time.perf_counter()
            writer.write(f"MAIL FROM:<{SENDER}>\r\n".encode())
            await _expect(reader, b"250")
            writer.write(f"RCPT TO:<{RECIPIENT}>\r\n".encode())
            await _expect(reader, b"250")
            writer.write(b"DATA\r\n")
            await _expect(reader, b"354")
            writer.write(body)
            await _expect(reader, b"250")
            samples.append(time.perf_counter() - t0)
            n += 1
            done += 1
        writer.write(b"QUIT\r\n")
        await _reply(reader)
        writer.close()


def message(size):
    head = f"From: <{SENDER}>\r\nTo: <{RECIPIENT}>\r\nSubject: latency\r\n\r\n".encode()
    line = b"x" * 62 + b"\r\n"
    body = line * max(1, size // len(line))
    return head + body + b".\r\n"


def measure(port, sessions=20, count=2000, size=1024, per_session=50):
    samples = []
    body = message(size)
    per = count // sessions

    async def main():
        await asyncio.gather(*(_session(port, per, body, per_session, samples)
                               for _ in range(sessions)))

    t0 = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - t0
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(p / 100 * len(samples)))] * 1000

    return {"messages": len(samples), "seconds": elapsed, "rate": len(samples) / elapsed,
            "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": samples[-1] * 1000}
