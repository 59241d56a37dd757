// `datarun query --brokers=HOST:PORT --as=DEPT --matter=M --subject=ID
//  [--kind=profile|verify|certificate|dossier|usage] [--predicate=P]
//  [--param=k=v,...] [--template=T] [--out=FILE] [--on_behalf_of=ID]
//  [--officer=ID] [--keys=DIR] [--timeout=10s]`
//
// Asks the exchange over the bus as department DEPT: signs the request with
// DEPT's seal key from the keys directory (exchange/seal/key_store.h layout;
// the newest key id, by name, when DEPT has several), sends it on
// dr.query.req through QueryClient and prints the QueryResponse as one JSON
// object (proto3 JSON; payloads of disclosed records as typed objects).
// --kind=usage ("who used this citizen's data") is the auditor path: it
// reads the subject's partition of dr.audit directly and prints the
// QueryResponse's `usage` list, newest first; it needs read access to
// dr.audit, not a signed request.
// --kind=certificate --template=T and --kind=dossier print the response
// with the sealed document; --out=FILE also writes the document alone, in
// the file format of exchange/certificate/document_io.h (binary protobuf
// when FILE ends in .bin or .pb, JSON otherwise), which `datarun verify
// --certificate=FILE` / `--dossier=FILE` and `datarun render` read.
// Exit 0 with a response (allowed or denied; a denial is a response), 1
// when no response came (timeout, bus unreachable) or --out was given and
// the request was denied (nothing written), 2 on usage errors.
// See docs/cli.md, "datarun query".
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/usage.h"
#include "exchange/certificate/document_io.h"
#include "exchange/query/client/query_client.h"
#include "exchange/query/kafka_audit_sink.h"
#include "exchange/query/partitioner.h"
#include "exchange/query/topics.h"
#include "exchange/seal/key_store.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/util/json_util.h"
#include "proto/datarun/v1/departments/payloads.h"
#include "proto/datarun/v1/query.pb.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"

ABSL_FLAG(std::string, kind, "profile",
          "query: profile, verify, certificate, dossier or usage");
ABSL_FLAG(std::string, template, "",
          "query: certificate template id (--kind=certificate)");
ABSL_FLAG(std::string, predicate, "", "query: predicate id (--kind=verify)");
ABSL_FLAG(std::vector<std::string>, param, {},
          "query: predicate parameters k=v, comma-separated or repeated");
ABSL_FLAG(std::string, on_behalf_of, "",
          "query: citizen id of the proxy agent acting for the subject");
ABSL_FLAG(std::string, officer, "", "query: officer id of the requester");
ABSL_FLAG(std::string, keys, "keys",
          "query: keys directory holding <dept>/<key_id>.key.pem");

namespace datarun::cli {
namespace {

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::fprintf(stderr,
               "usage: datarun query --brokers=HOST:PORT --as=DEPT "
               "--matter=M --subject=ID "
               "[--kind=profile|verify|certificate|dossier|usage] "
               "[--predicate=P] [--param=k=v] [--template=T] [--out=FILE] "
               "[--on_behalf_of=ID] [--officer=ID] [--keys=DIR] "
               "[--timeout=10s]\n");
  return 2;
}

int Failure(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return 1;
}

int PrintJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(m, &json, o);
  if (!st.ok()) return Failure(absl::StrCat("printing JSON: ", st.ToString()));
  std::printf("%s\n", json.c_str());
  return 0;
}

// The newest key id of `dept` (key ids sort by their date suffix).
absl::StatusOr<std::string> NewestKeyId(const std::string& dir,
                                        const std::string& dept) {
  const std::string d = absl::StrCat(dir, "/", dept);
  DIR* h = opendir(d.c_str());
  if (h == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "--keys: no directory ", d, " (make a key with datarun keygen)"));
  }
  std::vector<std::string> ids;
  while (dirent* e = readdir(h)) {
    absl::string_view n = e->d_name;
    if (absl::ConsumeSuffix(&n, ".key.pem")) ids.emplace_back(n);
  }
  closedir(h);
  if (ids.empty()) {
    return absl::NotFoundError(absl::StrCat("--keys: no *.key.pem in ", d));
  }
  return *std::max_element(ids.begin(), ids.end());
}

int RunUsage(broker::Broker* broker, const std::string& subject_id) {
  auto admin = broker->NewAdmin();
  if (!admin.ok()) return Failure(admin.status().ToString());
  auto topics = (*admin)->ListTopics(absl::Seconds(10));
  if (!topics.ok()) return Failure(topics.status().ToString());
  int32_t partitions = 0;
  for (const auto& t : *topics)
    if (t.name == query::kAuditTopic) partitions = t.partitions;
  if (partitions == 0) {
    return Failure(absl::StrCat("the bus has no topic ", query::kAuditTopic,
                                " (no query was ever answered there)"));
  }
  const int32_t p = query::SubjectPartition(subject_id, partitions);
  auto links = query::ReadAuditLinks(broker, p, absl::GetFlag(FLAGS_timeout));
  if (!links.ok()) return Failure(links.status().ToString());
  auto usage = audit::UsageFor(*links, subject_id);
  if (!usage.ok()) return Failure(usage.status().ToString());
  datarun::v1::QueryResponse r;
  r.set_decision(datarun::v1::DECISION_ALLOW);
  for (auto& u : *usage) *r.add_usage() = std::move(u);
  return PrintJson(r);
}

int RunQuery(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) return UsageError("--brokers is required");
  const std::string subject_text = absl::GetFlag(FLAGS_subject);
  if (subject_text.empty()) return UsageError("--subject is required");
  auto subject = subject::ParseSubjectId(subject_text);
  if (!subject.ok()) {
    return UsageError(absl::StrCat("--subject: ", subject.status().message()));
  }
  const std::string kind = absl::GetFlag(FLAGS_kind);
  datarun::v1::QueryRequest q;
  if (kind == "profile") {
    q.set_kind(datarun::v1::QUERY_KIND_PROFILE);
  } else if (kind == "verify") {
    q.set_kind(datarun::v1::QUERY_KIND_VERIFY);
  } else if (kind == "usage") {
    q.set_kind(datarun::v1::QUERY_KIND_USAGE);
  } else if (kind == "certificate") {
    q.set_kind(datarun::v1::QUERY_KIND_CERTIFICATE);
  } else if (kind == "dossier") {
    q.set_kind(datarun::v1::QUERY_KIND_DOSSIER);
  } else {
    return UsageError(absl::StrCat(
        "--kind=", kind,
        ": expected profile, verify or usage (or certificate, dossier)"));
  }
  const bool document = q.kind() == datarun::v1::QUERY_KIND_CERTIFICATE ||
                        q.kind() == datarun::v1::QUERY_KIND_DOSSIER;
  q.set_template_id(absl::GetFlag(FLAGS_template));
  if (q.kind() == datarun::v1::QUERY_KIND_CERTIFICATE &&
      q.template_id().empty()) {
    return UsageError("--kind=certificate needs --template");
  }
  if (q.kind() != datarun::v1::QUERY_KIND_CERTIFICATE &&
      !q.template_id().empty()) {
    return UsageError("--template is only for --kind=certificate");
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty() && !document) {
    return UsageError("--out is only for --kind=certificate or dossier");
  }

  broker::KafkaConfig kc;
  kc.bootstrap = brokers;
  kc.connect_timeout = absl::GetFlag(FLAGS_timeout);  // an unreachable bus too
  auto broker = broker::NewKafkaBroker(kc);
  if (!broker.ok()) return Failure(broker.status().ToString());
  if (q.kind() == datarun::v1::QUERY_KIND_USAGE) {
    return RunUsage(broker->get(), std::string(subject->id()));
  }

  const std::string as = absl::GetFlag(FLAGS_as);
  if (as.empty())
    return UsageError("--as (the requesting department) is required");
  if (auto s = seal::CheckKeyName("--as", as); !s.ok()) {
    return UsageError(s.message());
  }
  const std::string matter = absl::GetFlag(FLAGS_matter);
  if (matter.empty()) return UsageError("--matter is required");
  q.set_matter(matter);
  q.set_officer_id(absl::GetFlag(FLAGS_officer));
  auto* s = q.add_subjects();
  s->set_kind(subject->kind() == subject::SubjectKind::kCitizen
                  ? datarun::v1::SUBJECT_KIND_CITIZEN
                  : datarun::v1::SUBJECT_KIND_LEGAL_PERSON);
  s->set_id(std::string(subject->id()));
  q.set_predicate_id(absl::GetFlag(FLAGS_predicate));
  if (q.kind() == datarun::v1::QUERY_KIND_VERIFY && q.predicate_id().empty()) {
    return UsageError("--kind=verify needs --predicate");
  }
  for (const std::string& kv : absl::GetFlag(FLAGS_param)) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first.empty() || !absl::StrContains(kv, '=')) {
      return UsageError(absl::StrCat("--param '", kv, "': expected key=value"));
    }
    (*q.mutable_parameters())[p.first] = p.second;
  }
  if (const std::string agent = absl::GetFlag(FLAGS_on_behalf_of);
      !agent.empty()) {
    auto a = subject::ParseCitizenId(agent);
    if (!a.ok()) {
      return UsageError(absl::StrCat("--on_behalf_of: ", a.status().message()));
    }
    q.mutable_on_behalf_of()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    q.mutable_on_behalf_of()->set_id(std::string(a->id()));
  }
  // The window clerk has read the resident ID card.
  q.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_CARD);

  const std::string keys = absl::GetFlag(FLAGS_keys);
  auto key_id = NewestKeyId(keys, as);
  if (!key_id.ok()) return Failure(key_id.status().message());
  auto signer = seal::KeyStore(keys).LoadSigner(as, *key_id);
  if (!signer.ok()) return Failure(signer.status().ToString());

  query::QueryClientOptions o;
  o.department = as;
  o.signer = signer->get();
  o.client_id = "datarun-cli";
  auto client = query::QueryClient::Create(broker->get(), o);
  if (!client.ok()) return Failure(client.status().ToString());
  // Keeps every payload type linked, so disclosed records print as JSON.
  (void)datarun::departments::AllPayloadDescriptors();
  auto response = (*client)->Query(q, absl::GetFlag(FLAGS_timeout));
  if (!response.ok()) return Failure(response.status().ToString());
  if (int rc = PrintJson(*response); rc != 0) return rc;
  if (out.empty()) return 0;
  if (response->decision() != datarun::v1::DECISION_ALLOW) {
    return Failure(absl::StrCat("denied (", response->denial_rule(), ": ",
                                response->denial_reason(),
                                "); nothing written to ", out));
  }
  const google::protobuf::Message& doc =
      q.kind() == datarun::v1::QUERY_KIND_CERTIFICATE
          ? static_cast<const google::protobuf::Message&>(
                response->certificate())
          : response->dossier();
  if (auto st = certificate::WriteDocumentFile(out, doc); !st.ok()) {
    return Failure(st.ToString());
  }
  std::fprintf(stderr, "wrote %s to %s\n",
               q.kind() == datarun::v1::QUERY_KIND_CERTIFICATE ? "certificate"
                                                               : "dossier",
               out.c_str());
  return 0;
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "query",
    "ask the exchange over the bus (profile, verify, certificate, dossier) or "
    "list who used a subject's data (usage)",
    RunQuery);

}  // namespace datarun::cli
