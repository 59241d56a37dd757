#include "exchange/certificate/testing/test_env.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/seal/catalog_keys.h"
#include "google/protobuf/text_format.h"

namespace datarun::certificate::testing {

std::string TempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base ? base : "/tmp", "/", name, "-", counter.fetch_add(1));
  mkdir(dir.c_str(), 0700);
  return dir;
}

absl::StatusOr<std::unique_ptr<CertEnv>> CertEnv::Create(
    const std::vector<KeySpec>& keys) {
  auto env = std::unique_ptr<CertEnv>(new CertEnv());
  ASSIGN_OR_RETURN(v1::Catalog catalog, catalog::LoadCatalog(kShippedCatalog));
  env->keys_dir_ = TempDir("keys");
  env->store_ = std::make_unique<seal::KeyStore>(env->keys_dir_);
  for (const KeySpec& spec : keys) {
    ASSIGN_OR_RETURN(
        seal::KeyPairPem pair,
        env->store_->Generate(spec.department, spec.key_id, spec.algorithm));
    v1::Department* dept = nullptr;
    for (auto& d : *catalog.mutable_departments()) {
      if (d.id() == spec.department) dept = &d;
    }
    if (dept == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no department ", spec.department));
    }
    v1::SealKey* key = dept->add_seal_keys();
    key->set_key_id(spec.key_id);
    key->set_algorithm(static_cast<v1::SealAlgorithm>(spec.algorithm));
    key->set_public_key_pem(pair.public_pem);
    if (spec.valid_from != absl::InfinitePast()) {
      key->mutable_valid_from()->set_seconds(
          absl::ToUnixSeconds(spec.valid_from));
    }
    if (spec.valid_until != absl::InfiniteFuture()) {
      key->mutable_valid_until()->set_seconds(
          absl::ToUnixSeconds(spec.valid_until));
    }
    if (env->signers_.Find(spec.department) == nullptr) {
      ASSIGN_OR_RETURN(auto signer,
                       env->store_->LoadSigner(spec.department, spec.key_id));
      env->signers_.Add(std::move(signer));
    }
  }
  env->keyring_ = std::make_unique<seal::SealKeyring>();
  RETURN_IF_ERROR(seal::AddCatalogKeys(catalog, env->keyring_.get()));
  ASSIGN_OR_RETURN(env->index_,
                   catalog::CatalogIndex::Create(std::move(catalog)));
  return env;
}

absl::StatusOr<std::string> CertEnv::WriteCatalog(
    const std::string& dir) const {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(catalog(), &text)) {
    return absl::InternalError("cannot print catalog");
  }
  std::string path = absl::StrCat(dir, "/catalog.textproto");
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return path;
}

v1::Record MakeRecord(const v1::Catalog& catalog, const std::string& subject_id,
                      const std::string& data_class,
                      const std::string& record_key, uint64_t version,
                      const google::protobuf::Message& payload) {
  v1::Record r;
  // Citizen ids are 17 digits and a digit or X; credit codes use letters.
  const bool citizen =
      subject_id.size() == 18 &&
      subject_id.find_first_not_of("0123456789") >= 17 &&
      (subject_id[17] == 'X' || absl::ascii_isdigit(subject_id[17]));
  r.mutable_subject()->set_kind(citizen ? v1::SUBJECT_KIND_CITIZEN
                                        : v1::SUBJECT_KIND_LEGAL_PERSON);
  r.mutable_subject()->set_id(subject_id);
  r.set_data_class(data_class);
  for (const auto& c : catalog.data_classes()) {
    if (c.id() == data_class) r.set_source_department(c.source_department());
  }
  r.set_record_key(record_key);
  r.set_source_version(version);
  r.set_op(v1::Record::OP_UPSERT);
  r.mutable_event_time()->set_seconds(1790000000 + version);
  r.mutable_payload()->PackFrom(payload);
  return r;
}

}  // namespace datarun::certificate::testing
