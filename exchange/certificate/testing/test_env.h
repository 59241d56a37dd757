// Test support for certificate and dossier tests (unit tests here, CLI tests
// in tests/integration/certificate_*): the shipped catalog with freshly
// generated seal keys for chosen departments, the matching signers and
// keyring, and record builders.
//
// testonly. Not thread-safe; one per test.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_TESTING_TEST_ENV_H_
#define DATARUN_EXCHANGE_CERTIFICATE_TESTING_TEST_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/signer_set.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::certificate::testing {

// Path of the shipped catalog in the runfiles (data dep
// //exchange/catalog:zhejiang.textproto).
inline constexpr char kShippedCatalog[] = "exchange/catalog/zhejiang.textproto";

// A directory under TEST_TMPDIR (created), unique per call.
std::string TempDir(const std::string& name);

struct KeySpec {
  std::string department;
  std::string key_id;
  seal::SealAlgorithm algorithm = seal::SealAlgorithm::kSm2Sm3;
  absl::Time valid_from = absl::InfinitePast();
  absl::Time valid_until = absl::InfiniteFuture();
};

class CertEnv {
 public:
  // Loads the shipped catalog, generates each key into a key store under
  // TEST_TMPDIR and lists it in the catalog.
  static absl::StatusOr<std::unique_ptr<CertEnv>> Create(
      const std::vector<KeySpec>& keys);

  const v1::Catalog& catalog() const { return index_->catalog(); }
  const catalog::CatalogIndex& index() const { return *index_; }
  const seal::KeyStore& key_store() const { return *store_; }
  const std::string& keys_dir() const { return keys_dir_; }
  // Signer per department: the first key listed for it.
  const SignerSet& signers() const { return signers_; }
  const seal::SealKeyring& keyring() const { return *keyring_; }
  // Writes the catalog (with the keys) as textproto; returns the path.
  absl::StatusOr<std::string> WriteCatalog(const std::string& dir) const;

 private:
  std::string keys_dir_;
  std::unique_ptr<seal::KeyStore> store_;
  std::unique_ptr<const catalog::CatalogIndex> index_;
  SignerSet signers_;
  std::unique_ptr<seal::SealKeyring> keyring_;
};

// A live record (OP_UPSERT) of `data_class` about citizen `subject_id`, from
// the class's source department in `catalog`.
v1::Record MakeRecord(const v1::Catalog& catalog, const std::string& subject_id,
                      const std::string& data_class,
                      const std::string& record_key, uint64_t version,
                      const google::protobuf::Message& payload);

}  // namespace datarun::certificate::testing

#endif  // DATARUN_EXCHANGE_CERTIFICATE_TESTING_TEST_ENV_H_
