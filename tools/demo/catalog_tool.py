#!/usr/bin/env python3
"""Small text helpers for tools/demo/demo.sh (the quick-start demo).

Subcommands:
  departments CATALOG              department ids of a catalog textproto
  add-keys CATALOG KEYS_DIR        the catalog with each KEYS_DIR/<dept>.catalog-entry
                                   (`datarun keygen` output) inserted into its
                                   department, on stdout
  connectors MANIFEST WORK BROKERS one connector config per data class of a
                                   `datarun gen` manifest; prints "name rows" lines
  scenario DATA_DIR                shell assignments naming the demo's subjects
  summarize                        one QueryResponse JSON line (stdin) as a few
                                   readable lines

It edits the catalog as text on purpose: the shipped catalog's comments are
its documentation, and a protobuf round trip would drop them. The exchange
checks the result at load, so a bad edit cannot pass unnoticed.
"""
import json
import os
import re
import sys

_DEPT_RE = re.compile(r'^departments \{\n  id: "([a-z_]+)"\n', re.M)


def departments(catalog):
    with open(catalog, encoding="utf-8") as f:
        ids = _DEPT_RE.findall(f.read())
    if not ids:
        sys.exit(f"catalog_tool: no departments found in {catalog}")
    print(" ".join(ids))


def add_keys(catalog, keys_dir):
    with open(catalog, encoding="utf-8") as f:
        text = f.read()

    def insert(match):
        entry_path = os.path.join(keys_dir, match.group(1) + ".catalog-entry")
        if not os.path.exists(entry_path):
            return match.group(0)
        with open(entry_path, encoding="utf-8") as f:
            entry = f.read().rstrip("\n")
        indented = "\n".join("  " + line for line in entry.split("\n"))
        return match.group(0) + indented + "\n"

    sys.stdout.write(_DEPT_RE.sub(insert, text))


def connectors(manifest_path, work, brokers):
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    data_dir = os.path.dirname(os.path.abspath(manifest_path))
    for c in manifest["classes"]:
        if c["records"] == 0:
            continue
        name = f'{c["department"]}.{c["data_class"]}'
        drop = os.path.join(work, "drop", name)
        os.makedirs(drop, exist_ok=True)
        # Connectors pick up whole files from their own drop directory and
        # move them to .done/ once every record is acknowledged.
        src = os.path.join(data_dir, c["file"])
        dst = os.path.join(drop, os.path.basename(c["file"]))
        if not os.path.exists(dst):
            os.link(src, dst)
        mapping = os.path.join(work, "connect", f'{c["data_class"]}.mapping.textproto')
        with open(mapping, "w", encoding="utf-8") as f:
            f.write(f'data_class: "{c["data_class"]}"\nformat: FORMAT_CANONICAL_JSONL\n')
        with open(os.path.join(work, "connect", name + ".textproto"), "w", encoding="utf-8") as f:
            f.write(
                f'department: "{c["department"]}"\n'
                f'catalog: "{os.path.join(work, "catalog.textproto")}"\n'
                f'mapping: "{mapping}"\n'
                f'file {{ drop_dir: "{drop}" suffix: ".jsonl" '
                f'state_file: "{os.path.join(work, "connect", name + ".state")}" }}\n'
                f'brokers: "{brokers}"\n'
                'commit_interval_ms: 200\n'
            )
        print(name, c["records"])


def _records(data_dir, dept, data_class):
    path = os.path.join(data_dir, dept, data_class + ".jsonl")
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def scenario(data_dir):
    proxy = next((r for r in _records(data_dir, "big_data_bureau", "delegation")
                  if "urban_rural_pension_registration" in r["payload"].get("matters", [])),
                 None)
    consent = next((r for r in _records(data_dir, "big_data_bureau", "consent_grant")
                    if r["payload"].get("grantee_department") == "civil_affairs"
                    and "low_income_assistance_application" in r["payload"].get("matters", [])),
                   None)
    role = next((r for r in _records(data_dir, "market_regulation", "entity_role_holding")
                 if r["payload"].get("role") == "ENTITY_ROLE_LEGAL_REPRESENTATIVE"), None)
    if proxy is None or consent is None or role is None:
        sys.exit("catalog_tool: the generated data has no pension delegation, civil-affairs "
                 "consent or legal representative; generate more citizens")
    print(f'PROXY_SUBJECT={proxy["subject_id"]}')
    print(f'PROXY_AGENT={proxy["payload"]["agent"]["id"]}')
    print(f'CONSENT_SUBJECT={consent["subject_id"]}')
    print(f'REPRESENTATIVE={role["subject_id"]}')
    print(f'ENTERPRISE={role["payload"]["entity"]["id"]}')


def summarize():
    r = json.loads(sys.stdin.readline())
    decision = r.get("decision", "?").replace("DECISION_", "")
    if decision != "ALLOW":
        print(f'decision: {decision} — rule {r.get("denial_rule", "?")}: {r.get("denial_reason", "")}')
        return
    print(f"decision: {decision}")
    if "verify_result" in r:
        sources = sorted({e.get("source_department", "?") for e in r.get("evidence", [])})
        print(f'answer: {r["verify_result"].replace("VERIFY_RESULT_", "")}'
              f' (evidence from {", ".join(sources) or "no record"}; no payload disclosed)')
    for rec in r.get("records", []):
        payload = dict(rec.get("payload", {}))
        payload.pop("@type", None)
        prov = rec.get("provenance", {})
        shown = ", ".join(f"{k}={v}" for k, v in list(payload.items())[:4])
        print(f'{rec.get("data_class")} from {prov.get("source_department", "?")}'
              f' v{prov.get("source_version", "?")}: {shown}')
    cert = r.get("certificate")
    if cert:
        seal = cert.get("seal", {})
        print(f'certificate {cert.get("serial")} ({cert.get("template_id")}) issued by'
              f' {cert.get("issuer_department")}, sealed {seal.get("algorithm", "?")}'
              f' key {seal.get("key_id", "?")}')
        for line in cert.get("rendered_text", "").splitlines()[:4]:
            print(f"  {line}")
    dossier = r.get("dossier")
    if dossier:
        sections = dossier.get("sections", [])
        print(f'dossier {dossier.get("id")} for {dossier.get("requester_department")},'
              f' {len(sections)} sections, sealed by {dossier.get("seal", {}).get("department", "?")}')
        for sec in sections:
            n = len(sec.get("records", []))
            print(f'  {sec.get("data_class", sec.get("title", "?"))}: {n} record(s)')
    if "usage" in r:
        for u in r["usage"][:8]:
            print(f'{u.get("time", "?")} {u.get("requester_department", "?")}'
                  f' ({u.get("officer_id", "")}) {u.get("matter", "")}'
                  f' {u.get("kind", "").replace("QUERY_KIND_", "").lower()}'
                  f' -> {u.get("decision", "").replace("DECISION_", "")}')
    if "audit_event_id" in r:
        print(f'audit event {r["audit_event_id"]} (acknowledged on dr.audit before this answer)')


def main(argv):
    commands = {
        "departments": (departments, 1),
        "add-keys": (add_keys, 2),
        "connectors": (connectors, 3),
        "scenario": (scenario, 1),
        "summarize": (summarize, 0),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = commands[argv[1]]
    fn(*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
