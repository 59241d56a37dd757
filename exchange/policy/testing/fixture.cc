#include "exchange/policy/testing/fixture.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status_macros.h"
#include "exchange/policy/catalog_overlay.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/key_store.h"
#include "exchange/subject/subject_id.h"
#include "proto/datarun/v1/departments/big_data_bureau.pb.h"

namespace datarun::policy::testing {

using datarun::v1::QueryRequest;
using datarun::v1::Record;

std::string CitizenId(int n) {
  auto id = subject::MakeCitizenId(
      330106, absl::CivilDay(1980, 1, 1) + n / 1000, n % 1000);
  return id.ok() ? *id : std::string("bad-id");
}

datarun::v1::Subject Citizen(int n) {
  datarun::v1::Subject s;
  s.set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  s.set_id(CitizenId(n));
  return s;
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

absl::StatusOr<std::unique_ptr<Fixture>> Fixture::Create(
    const std::string& overlay_path,
    const std::vector<std::string>& departments) {
  std::unique_ptr<Fixture> f(new Fixture());
  static int counter = 0;
  const char* tmp = getenv("TEST_TMPDIR");
  f->keys_dir_ = absl::StrCat(tmp ? tmp : "/tmp", "/fixture-keys-", getpid(),
                              "-", counter++);
  seal::KeyStore store(f->keys_dir_);
  ASSIGN_OR_RETURN(datarun::v1::Catalog merged,
                   catalog::LoadCatalog(kBaseCatalog));
  if (!overlay_path.empty()) {
    std::string overlay;
    FILE* in = fopen(overlay_path.c_str(), "r");
    if (in == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot open ", overlay_path));
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) overlay.append(buf, n);
    fclose(in);
    ASSIGN_OR_RETURN(merged,
                     OverlayCatalog(std::move(merged), overlay, overlay_path));
  }
  for (const std::string& dept : departments) {
    const std::string key_id = dept + "-test";
    ASSIGN_OR_RETURN(
        seal::KeyPairPem pair,
        store.Generate(dept, key_id, seal::SealAlgorithm::kEd25519));
    ASSIGN_OR_RETURN(f->signers_[dept], store.LoadSigner(dept, key_id));
    bool found = false;
    for (auto& d : *merged.mutable_departments()) {
      if (d.id() != dept) continue;
      auto* k = d.add_seal_keys();
      k->set_key_id(key_id);
      k->set_algorithm(datarun::v1::SEAL_ALGORITHM_ED25519);
      k->set_public_key_pem(pair.public_pem);
      found = true;
    }
    if (!found)
      return absl::NotFoundError(absl::StrCat("no department ", dept));
  }
  ASSIGN_OR_RETURN(f->catalog_,
                   catalog::CatalogIndex::Create(std::move(merged)));
  RETURN_IF_ERROR(seal::AddCatalogKeys(f->catalog_->catalog(), &f->keyring_));
  ASSIGN_OR_RETURN(f->policy_, Policy::Create(*f->catalog_, f->keyring_));
  return f;
}

QueryRequest Fixture::Request(const std::string& dept,
                              const std::string& matter,
                              datarun::v1::QueryKind kind,
                              const std::vector<std::string>& subjects,
                              absl::Time at) const {
  static int counter = 0;
  QueryRequest r;
  r.set_request_id(absl::StrCat("req-", ++counter));
  r.set_requester_department(dept);
  r.set_officer_id("officer-1");
  r.set_matter(matter);
  r.set_kind(kind);
  for (const auto& s : subjects) {
    auto* p = r.add_subjects();
    p->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    p->set_id(s);
  }
  r.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_CARD);
  *r.mutable_requested_at() = Ts(at);
  Sign(&r);
  return r;
}

void Fixture::Sign(QueryRequest* request) const {
  auto it = signers_.find(request->requester_department());
  if (it == signers_.end()) return;
  absl::Status st = SignRequest(*it->second, request);
  if (!st.ok()) abort();
}

Record MakeRecord(const catalog::CatalogIndex& catalog,
                  const std::string& subject, const std::string& data_class,
                  const std::string& record_key, uint64_t version,
                  const google::protobuf::Message& payload,
                  absl::Time event_time) {
  Record r;
  r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  r.mutable_subject()->set_id(subject);
  r.set_data_class(data_class);
  const auto* c = catalog.FindDataClass(data_class);
  r.set_source_department(c != nullptr ? c->source_department() : "unknown");
  r.set_record_key(record_key);
  r.set_source_version(version);
  r.set_op(Record::OP_UPSERT);
  *r.mutable_event_time() = Ts(event_time);
  r.mutable_payload()->PackFrom(payload);
  return r;
}

Record ConsentRecord(const catalog::CatalogIndex& catalog,
                     const std::string& subject, const std::string& consent_id,
                     const std::string& grantee, const std::string& matter,
                     absl::Time from, absl::Time until,
                     const std::vector<std::string>& classes, bool revoked) {
  datarun::v1::departments::ConsentGrant c;
  c.set_consent_id(consent_id);
  c.set_grantee_department(grantee);
  c.add_matters(matter);
  for (const auto& cls : classes) c.add_data_classes(cls);
  *c.mutable_granted_at() = Ts(from);
  *c.mutable_expires_at() = Ts(until);
  if (revoked) *c.mutable_revoked_at() = Ts(from + absl::Hours(1));
  c.set_channel(datarun::v1::departments::CAPTURE_CHANNEL_WINDOW);
  return MakeRecord(catalog, subject, "consent_grant", consent_id, 1, c);
}

Record DelegationRecord(const catalog::CatalogIndex& catalog,
                        const std::string& subject,
                        const std::string& delegation_id,
                        const std::string& agent, const std::string& matter,
                        absl::Time from, absl::Time until, bool revoked) {
  datarun::v1::departments::Delegation d;
  d.set_delegation_id(delegation_id);
  d.mutable_agent()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  d.mutable_agent()->set_id(agent);
  d.set_agent_name("代办员");
  d.add_matters(matter);
  *d.mutable_valid_from() = Ts(from);
  *d.mutable_valid_until() = Ts(until);
  if (revoked) *d.mutable_revoked_at() = Ts(from + absl::Hours(1));
  d.set_channel(datarun::v1::departments::CAPTURE_CHANNEL_WINDOW);
  d.set_service_point("西湖区转塘街道某村");
  return MakeRecord(catalog, subject, "delegation", delegation_id, 1, d);
}

}  // namespace datarun::policy::testing
