#!/usr/bin/env python3
"""The dr.* topics of a datarun catalog, with the configs each one needs.

Called by create-topics.sh and acls.sh (and by //tests/deploy:deploy_check_test
on the shipped catalog), so the topic list is derived from the catalog and
never typed by hand. Reads the catalog textproto with a small parser of its
own (only `departments { id }` and `data_classes { id source_department
multi_record }` are used), so it needs nothing but python3.

  topics.py CATALOG              one line per topic: NAME<TAB>KIND<TAB>CONFIGS
                                 (CONFIGS: comma-separated key=value)
  topics.py --departments CATALOG  one department id per line

The names follow the code (the test checks them against it):
  dr.data.<source_department>.<class>   exchange/catalog/catalog.h DataTopicFor
  dr.dlq.<dept>, dr.dlq.unknown         exchange/ingest/ingestor.cc, datarund_main.cc
  dr.query.req, dr.query.resp.<dept>    exchange/query/topics.h
  dr.audit                              exchange/query/topics.h
  dr.audit.checkpoint                   exchange/audit/kafka/audit_bus.h
  dr.cert.revoked                       exchange/certificate/revocation_list.h
"""

import re
import sys

DAY_MS = 24 * 3600 * 1000

# Data topics are the system of record the exchange rebuilds its state from
# after a state loss (docs/operations.md, "Backups"), so nothing may leave
# them: delete policy with infinite retention. Compaction is NOT used:
#  - the Kafka key is the subject id (the ingest check rejects anything else,
#    co-partitioning needs it), and multi-record classes (vehicles, real
#    estate titles...) publish several records of one subject under that
#    same key: compaction would keep only the last of them;
#  - even for single-record classes compaction keeps the last *offset*,
#    while the exchange keeps the highest source_version; a re-sent older
#    version published after a newer one would win a rebuild;
#  - a DELETE is a Record with op=DELETE, not a Kafka tombstone, so
#    compaction would not reclaim deleted subjects anyway.
DATA = {
    "cleanup.policy": "delete",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "min.insync.replicas": "2",
}
# Rejected rows, with the reason in headers: kept a month for the department
# to fix and re-send.
DLQ = {
    "cleanup.policy": "delete",
    "retention.ms": str(30 * DAY_MS),
    "min.insync.replicas": "2",
}
# Requests and responses are useless after the client's timeout (seconds);
# every access is in dr.audit. One day leaves room for debugging.
QUERY = {
    "cleanup.policy": "delete",
    "retention.ms": str(1 * DAY_MS),
    "min.insync.replicas": "2",
}
# The audit trail is evidence: never deleted, never compacted (the hash
# chain breaks if a link goes missing).
AUDIT = {
    "cleanup.policy": "delete",
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "min.insync.replicas": "2",
}
# Keyed by certificate serial: the latest revocation of a serial is what
# counts, so compaction is right here. Tombstones are kept a week so a
# reader that was offline for less than that still sees an un-revocation.
REVOKED = {
    "cleanup.policy": "compact",
    "delete.retention.ms": str(7 * DAY_MS),
    "min.insync.replicas": "2",
}

_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|
    (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|
    (?P<ident>[A-Za-z_][A-Za-z0-9_.\-]*|[-+]?[0-9][0-9A-Za-z_.+\-]*)|
    (?P<punct>[{}<>:\[\],;])""",
    re.VERBOSE,
)


def _tokens(text, path):
    pos = 0
    line = 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(
                f"{path}:{line}: cannot read textproto at {text[pos:pos + 20]!r}"
            )
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            # Ids and names carry no escapes but quotes and backslashes.
            yield ("str", re.sub(r"\\(.)", r"\1", raw), line)
        elif m.group("ident") is not None:
            yield ("ident", m.group("ident"), line)
        elif m.group("punct") is not None:
            yield ("punct", m.group("punct"), line)
        line += m.group(0).count("\n")
        pos = m.end()


def parse_textproto(text, path="<catalog>"):
    """Nested dict: field name -> list of values (str or dict)."""
    toks = list(_tokens(text, path))
    i = 0

    def message(end):
        nonlocal i
        out = {}
        while i < len(toks):
            kind, val, line = toks[i]
            if kind == "punct" and val == end:
                i += 1
                return out
            if kind != "ident":
                raise ValueError(f"{path}:{line}: expected a field name, got {val!r}")
            name = val
            i += 1
            if i < len(toks) and toks[i][1] == ":":
                i += 1
            kind, val, line = toks[i]
            if kind == "punct" and val in "{<":
                i += 1
                value = message("}" if val == "{" else ">")
            elif kind == "punct" and val == "[":
                raise ValueError(f"{path}:{line}: lists are not supported here")
            else:
                value = val
                i += 1
                # Adjacent string literals concatenate.
                while kind == "str" and i < len(toks) and toks[i][0] == "str":
                    value += toks[i][1]
                    i += 1
            out.setdefault(name, []).append(value)
            if i < len(toks) and toks[i][1] in ",;":
                i += 1
        if end is not None:
            raise ValueError(f"{path}: unexpected end of file, missing {end!r}")
        return out

    return message(None)


def load(path):
    with open(path, encoding="utf-8") as f:
        catalog = parse_textproto(f.read(), path)
    departments = [d["id"][0] for d in catalog.get("departments", [])]
    classes = []
    for c in catalog.get("data_classes", []):
        if "id" not in c or "source_department" not in c:
            raise ValueError(f"{path}: data class without id or source_department: {c}")
        classes.append(
            (c["source_department"][0], c["id"][0],
             c.get("multi_record", ["false"])[0] == "true"))
    if not departments or not classes:
        raise ValueError(f"{path}: no departments or no data classes")
    return departments, classes


def topics(path):
    """[(name, kind, configs)] in a stable order."""
    departments, classes = load(path)
    out = []
    for dept, cls, multi in classes:
        out.append((f"dr.data.{dept}.{cls}",
                    "data-multi" if multi else "data", DATA))
    for d in departments + ["unknown"]:
        out.append((f"dr.dlq.{d}", "dlq", DLQ))
    out.append(("dr.query.req", "query-request", QUERY))
    for d in departments:
        out.append((f"dr.query.resp.{d}", "query-response", QUERY))
    out.append(("dr.audit", "audit", AUDIT))
    out.append(("dr.audit.checkpoint", "audit-checkpoint", AUDIT))
    out.append(("dr.cert.revoked", "revocations", REVOKED))
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == "--departments":
        departments, _ = load(argv[2])
        print("\n".join(departments))
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: topics.py [--departments] CATALOG.textproto\n")
        return 2
    for name, kind, configs in topics(argv[1]):
        print(f"{name}\t{kind}\t" + ",".join(f"{k}={v}" for k, v in configs.items()))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"topics.py: {e}\n")
        sys.exit(1)
