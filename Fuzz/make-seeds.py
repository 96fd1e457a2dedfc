#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (docs/FUZZING.md), from the inputs the tests already use.

Usage: Fuzz/make-seeds.py OUTDIR   (run from the package root; writes OUTDIR/<Target>/NNNN)

- FuzzSession: the client side of every OpenSMTPD transcript (Tests/Fixtures), each once whole
  and once with a listener flag byte and chunk sizes (the harness's input format), plus
  the chat scripts' client lines.
- FuzzAddress: every argument of Tests/SMTPProtocolTests/AddressExamples.swift, with and
  without the null path / UTF-8 allowed.
- FuzzConfig: conf/smtpd*.conf and the configurations written in Tests/SMTPConfigTests.
- FuzzLab: conf/lab-*.conf and the lab texts of Tests/LabTests.
- FuzzChat: conf/chat/*.chat and the scripts of Tests/SMTPClientTests/ChatScriptParserTests.
- FuzzMIME: the messages of maildir-fixtures/ and of Tests/MaildirTests/MailMessageTests.
- FuzzTranscript: the transcripts written in Tests/SessionTranscriptTests.
"""
import glob
import os
import re
import sys


def unescape_swift(text):
    """Swift string literal escapes: \\\\ \\" \\n \\r \\t \\0 \\u{X}."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "u" and text[i + 2 : i + 3] == "{":
                end = text.index("}", i)
                out.append(chr(int(text[i + 3 : end], 16)))
                i = end + 1
                continue
            out.append({"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def swift_literals(path):
    """Multi-line (\"\"\") and one-line string literals of a Swift file, without interpolation."""
    source = open(path, encoding="utf-8").read()
    found = []
    for match in re.finditer(r'"""\n(.*?)\n([ \t]*)"""', source, re.S):
        body, indent = match.group(1), match.group(2)
        if "\\(" in body:
            continue
        lines = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in body.split("\n")]
        text = "\n".join(lines) + "\n"
        text = text.replace("\\\n", "")  # line continuation
        found.append(unescape_swift(text))
    for match in re.finditer(r'(?<!")"((?:[^"\\\n]|\\.)*)"(?!")', source):
        body = match.group(1)
        if "\\n" in body and "\\(" not in body:
            found.append(unescape_swift(body))
    return found


def transcript_client_bytes(path):
    """The client writes of a transcript file, escapes decoded, placeholders dropped."""
    data = bytearray()
    for line in open(path, encoding="utf-8"):
        if not line.startswith("C: "):
            continue
        text = line[3:].rstrip("\n")
        text = re.sub(r"<[^>]*(lines|\*|closes|nothing)[^>]*>", "", text)
        i = 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                n = text[i + 1]
                if n == "x" and i + 3 < len(text):
                    data.append(int(text[i + 2 : i + 4], 16))
                    i += 4
                    continue
                mapped = {"r": 13, "n": 10, "t": 9, "\\": 92}.get(n)
                if mapped is not None:
                    data.append(mapped)
                    i += 2
                    continue
            data += text[i].encode("utf-8")
            i += 1
    return bytes(data)


def main():
    out = sys.argv[1]
    seeds = {name: [] for name in ["FuzzSession", "FuzzAddress", "FuzzConfig", "FuzzLab", "FuzzChat", "FuzzMIME", "FuzzTranscript"]}

    streams = [transcript_client_bytes(p) for p in sorted(glob.glob("Tests/Fixtures/opensmtpd-transcripts/*/*.txt"))]
    streams.append(
        b"EHLO x\r\nAUTH PLAIN AGdvb2QAcGFzcw==\r\nMAIL FROM:<a@b> SIZE=10 BODY=8BITMIME\r\n"
        b"RCPT TO:<root@vm> NOTIFY=SUCCESS\r\nBDAT 5 LAST\r\nHello\r\nSTARTTLS\r\nQUIT\r\n"
    )
    for index, stream in enumerate(streams):
        if not stream:
            continue
        seeds["FuzzSession"].append(bytes([0, 0]) + stream)
        flags = index % 16
        sizes = [1 + (index * 7) % 40, 1 + (index * 13) % 200]
        seeds["FuzzSession"].append(bytes([flags, len(sizes)] + [s - 1 for s in sizes]) + stream)

    examples = open("Tests/SMTPProtocolTests/AddressExamples.swift", encoding="utf-8").read()
    for match in re.finditer(r'argument: "((?:[^"\\]|\\.)*)"', examples):
        argument = unescape_swift(match.group(1)).encode("utf-8")
        seeds["FuzzAddress"] += [bytes([1]) + argument, bytes([3]) + argument]

    seeds["FuzzConfig"] += [open(p, "rb").read() for p in sorted(glob.glob("conf/smtpd*.conf"))]
    for path in sorted(glob.glob("Tests/SMTPConfigTests/*.swift")):
        seeds["FuzzConfig"] += [t.encode("utf-8") for t in swift_literals(path)]

    seeds["FuzzLab"] += [open(p, "rb").read() for p in sorted(glob.glob("conf/lab-*.conf"))]
    for path in sorted(glob.glob("Tests/LabTests/*.swift")):
        seeds["FuzzLab"] += [t.encode("utf-8") for t in swift_literals(path) if "netns" in t or "veth" in t]

    seeds["FuzzChat"] += [open(p, "rb").read() for p in sorted(glob.glob("conf/chat/*.chat"))]
    for path in ["Tests/SMTPClientTests/ChatScriptParserTests.swift", "Tests/SMTPServerTests/ChatScriptTests.swift"]:
        if os.path.exists(path):
            seeds["FuzzChat"] += [t.encode("utf-8") for t in swift_literals(path)]

    for path in sorted(glob.glob("maildir-fixtures/*/*/*")):
        if os.path.isfile(path) and not path.startswith("maildir-fixtures/expected") and not path.endswith(".keep"):
            seeds["FuzzMIME"].append(open(path, "rb").read())
    seeds["FuzzMIME"] += [t.encode("utf-8") for t in swift_literals("Tests/MaildirTests/MailMessageTests.swift")]

    for path in sorted(glob.glob("Tests/SessionTranscriptTests/*.swift")):
        seeds["FuzzTranscript"] += [
            t.encode("utf-8") for t in swift_literals(path) if "MailLab session transcript" in t
        ]

    for name, inputs in seeds.items():
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        unique = list(dict.fromkeys(s for s in inputs if s))
        for index, data in enumerate(unique):
            with open(os.path.join(folder, "%04d" % index), "wb") as f:
                f.write(data)
        print("%-12s %4d seeds" % (name, len(unique)))


if __name__ == "__main__":
    main()
