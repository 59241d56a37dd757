// Test fixture for policy, resolver and end-to-end tests: the shipped base
// catalog with an overlay of matters, real Ed25519 seal keys for chosen
// departments (generated under TEST_TMPDIR and added to the catalog and a
// keyring), the Policy, and builders for signed requests and records.
//
// Test-only. Not thread-safe while being built; the built Policy is.
#ifndef DATARUN_EXCHANGE_POLICY_TESTING_FIXTURE_H_
#define DATARUN_EXCHANGE_POLICY_TESTING_FIXTURE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/policy.h"
#include "exchange/seal/keyring.h"
#include "exchange/seal/seal.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::policy::testing {

inline constexpr char kBaseCatalog[] = "exchange/catalog/zhejiang.textproto";
// Fixture::Create's overlay_path for "no overlay": the shipped matters,
// sharing agreements and predicates of kBaseCatalog.
inline constexpr char kShippedMatters[] = "";

// The n-th valid citizen id (region 330106, born 1980-01-01 + n/1000 days).
std::string CitizenId(int n);
datarun::v1::Subject Citizen(int n);

google::protobuf::Timestamp Ts(absl::Time t);

class Fixture {
 public:
  // `overlay_path`: runfiles-relative path of a test overlay of matters,
  // agreements and predicates, or kShippedMatters for the shipped catalog's
  // own.
  // `departments`: get one Ed25519 key "<dept>-test" each.
  static absl::StatusOr<std::unique_ptr<Fixture>> Create(
      const std::string& overlay_path,
      const std::vector<std::string>& departments);

  const catalog::CatalogIndex& catalog() const { return *catalog_; }
  const Policy& policy() const { return *policy_; }
  const seal::SealKeyring& keyring() const { return keyring_; }
  // Where the departments' test key pairs were written (a --keys_dir for
  // the CLI and datarund: <dir>/<department>/<department>-test.key.pem).
  const std::string& keys_dir() const { return keys_dir_; }
  const seal::Signer& signer(const std::string& dept) const {
    return *signers_.at(dept);
  }

  // A signed request of `dept` for `matter` about `subjects`, made at `at`
  // with CARD assurance, officer "officer-1".
  datarun::v1::QueryRequest Request(const std::string& dept,
                                    const std::string& matter,
                                    datarun::v1::QueryKind kind,
                                    const std::vector<std::string>& subjects,
                                    absl::Time at) const;
  // Re-signs after the caller changed fields.
  void Sign(datarun::v1::QueryRequest* request) const;

 private:
  Fixture() = default;
  std::unique_ptr<const catalog::CatalogIndex> catalog_;
  seal::SealKeyring keyring_;
  std::string keys_dir_;
  std::map<std::string, std::unique_ptr<seal::Signer>> signers_;
  std::unique_ptr<Policy> policy_;
};

// A record of `data_class` from its source department in `catalog`.
datarun::v1::Record MakeRecord(
    const catalog::CatalogIndex& catalog, const std::string& subject,
    const std::string& data_class, const std::string& record_key,
    uint64_t version, const google::protobuf::Message& payload,
    absl::Time event_time = absl::FromUnixSeconds(1735689600));

// A consent of `subject` for `grantee` and `matter`, granted at `from`,
// expiring at `until`; `classes` empty covers all.
datarun::v1::Record ConsentRecord(
    const catalog::CatalogIndex& catalog, const std::string& subject,
    const std::string& consent_id, const std::string& grantee,
    const std::string& matter, absl::Time from, absl::Time until,
    const std::vector<std::string>& classes = {}, bool revoked = false);

// A delegation from `subject` to `agent` for `matter`.
datarun::v1::Record DelegationRecord(const catalog::CatalogIndex& catalog,
                                     const std::string& subject,
                                     const std::string& delegation_id,
                                     const std::string& agent,
                                     const std::string& matter, absl::Time from,
                                     absl::Time until, bool revoked = false);

}  // namespace datarun::policy::testing

#endif  // DATARUN_EXCHANGE_POLICY_TESTING_FIXTURE_H_
