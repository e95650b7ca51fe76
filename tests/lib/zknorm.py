"""zknorm — normalization and diffing of client transcripts (pure text, no I/O, no kazoo).

Owns: turning the raw output of a client session (zkCli.sh, cli_mt, the kazoo scenario
printer) into a transcript where run-specific values are replaced by stable placeholders,
so that the transcript of a session against Apache ZooKeeper and against gregor-coord can
be compared with a plain diff.

What is replaced, and how:
  zxids       every zxid in the transcript is replaced by Z<rank>, where rank is the position of
              its value among all distinct zxid values of that transcript (zxid 0 stays 0).
              Equality and ORDER of zxids are therefore still compared, absolute values and
              gaps are not.
  sessions    session ids (ephemeralOwner, "session id: 0x..") become S1, S2, ... in order of
              first appearance; 0 stays 0.
  times       dates and millisecond timestamps become <time>; "time = N msec" lines go.
  ports       127.0.0.1:<port>.
Everything else (error codes and texts, versions, cversion, numChildren, dataLength, paths,
data, ACLs, event types) is kept verbatim.

Zxids and session ids are recognized by the field they appear in (see ZXID_FIELDS and
SESSION_FIELDS), never by guessing from the value; the kazoo scenario printer uses the
field names `zxid=`, `czxid=`, `mzxid=`, `pzxid=`, `owner=`, `session=` in decimal.
"""

import difflib
import re

# field-name patterns whose value is a zxid; group "v" is the value, "hex" tells the base
_HEX = r"(?:0x)?[0-9a-fA-F]+"
ZXID_FIELDS = [
    # zkCli.sh `stat`/`get -s`/`ls -s`:  cZxid = 0x2
    (re.compile(r"\b(?P<k>[cmp]Zxid = )(?P<v>0x[0-9a-fA-F]+)"), 16),
    # cli_mt dumpStat:  czxid=22  (hex without 0x)
    (re.compile(r"\b(?P<k>[cmp]zxid=)(?P<v>[0-9a-fA-F]+)\b"), 16),
    # srvr/stat/mntr:  Zxid: 0x1f
    (re.compile(r"\b(?P<k>Zxid: )(?P<v>0x[0-9a-fA-F]+)"), 16),
    (re.compile(r"\b(?P<k>zk_zxid\s+)(?P<v>0x[0-9a-fA-F]+|\d+)"), 0),
    # kazoo scenario printer (decimal):  zxid#=123
    (re.compile(r"\b(?P<k>(?:[cmp]?zxid|last_zxid)#=)(?P<v>-?\d+)\b"), 10),
]
SESSION_FIELDS = [
    # zkCli: ephemeralOwner = 0x100000a1ebc0000
    (re.compile(r"\b(?P<k>ephemeralOwner = )(?P<v>0x[0-9a-fA-F]+|[0-9a-fA-F]+)\b"), 16),
    # cli_mt: "Got a new session id: 0x..", "session Id = 1000..."
    (re.compile(r"(?P<k>[Ss]ession [Ii]d(?::| =) )(?P<v>(?:0x)?[0-9a-fA-F]+)\b"), 16),
    # kazoo printer (decimal): owner#=7205759403792793600 session#=...
    (re.compile(r"\b(?P<k>(?:owner|session)#=)(?P<v>-?\d+)\b"), 10),
    # 4lw cons/dump/wchc: 0x100000559a70002
    (re.compile(r"(?P<k>\bsid[:=]\s*)(?P<v>0x[0-9a-fA-F]+)\b"), 16),
]
TIME_PATTERNS = [
    # Java Date.toString(): Fri Nov 20 23:50:15 UTC 2026
    re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
               r" [ \d]\d \d\d:\d\d:\d\d(?: [A-Z]{2,5})? \d{4}"),
    # kazoo printer: ctime#=1700000000000
    re.compile(r"(?<=\b[cm]time#=)\d+"),
]
DROP_LINES = [
    re.compile(r"^SLF4J: "),
    re.compile(r"^time = -?\d+ msec$"),                   # cli_mt timing noise
    re.compile(r"^Welcome to ZooKeeper!$"),
    re.compile(r"^JLine support is (?:disabled|enabled)$"),
    re.compile(r"^log4j:"),
]
PORT_RE = re.compile(r"\b(127\.0\.0\.1|localhost):\d{2,5}\b")


def _parse(v, base):
    if base == 16:
        return int(v[2:] if v.lower().startswith("0x") else v, 16)
    if base == 0:
        return int(v, 0)
    return int(v, 10)


class Normalizer:
    """Normalizes one transcript. Create one per transcript: the zxid ranks and session
    numbering are per transcript, so equal placeholders mean equal values within it."""

    def __init__(self):
        self.sessions = {}

    def _zxid_values(self, text):
        vals = set()
        for rx, base in ZXID_FIELDS:
            for m in rx.finditer(text):
                vals.add(_parse(m.group("v"), base))
        vals.discard(0)
        return {v: "Z%d" % (i + 1) for i, v in enumerate(sorted(vals))}

    def _session(self, value):
        if value == 0:
            return "0"
        if value not in self.sessions:
            self.sessions[value] = "S%d" % (len(self.sessions) + 1)
        return self.sessions[value]

    def normalize(self, text):
        """Returns the normalized text (str). Lines matched by DROP_LINES are removed."""
        lines = [ln.rstrip() for ln in text.splitlines()]
        lines = [ln for ln in lines if not any(rx.search(ln) for rx in DROP_LINES)]
        text = "\n".join(lines)
        zx = self._zxid_values(text)
        for rx, base in ZXID_FIELDS:
            text = rx.sub(lambda m: m.group("k") + (
                "0" if _parse(m.group("v"), base) == 0 else zx[_parse(m.group("v"), base)]), text)
        for rx, base in SESSION_FIELDS:
            text = rx.sub(lambda m: m.group("k") + self._session(_parse(m.group("v"), base)), text)
        for rx in TIME_PATTERNS:
            text = rx.sub("<time>", text)
        text = PORT_RE.sub(r"\1:<port>", text)
        return text + ("\n" if text and not text.endswith("\n") else "")


def normalize(text):
    """Normalizes one transcript with a fresh Normalizer."""
    return Normalizer().normalize(text)


def unified_diff(a, b, name_a="apache", name_b="target"):
    """Unified diff of two normalized transcripts ("" when equal)."""
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True),
                                        fromfile=name_a, tofile=name_b, n=4))


def compare(name, raw_a, raw_b, name_a="apache", name_b="target"):
    """Normalizes both raw transcripts; returns (ok, report). The report holds a unified
    diff of the normalized transcripts when they differ."""
    na, nb = normalize(raw_a), normalize(raw_b)
    if na == nb:
        return True, "%s: transcripts match (%d lines)" % (name, na.count("\n"))
    return False, "%s: transcripts differ after normalization\n%s" % (
        name, unified_diff(na, nb, "%s/%s" % (name_a, name), "%s/%s" % (name_b, name)))
