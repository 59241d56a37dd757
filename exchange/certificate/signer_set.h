// The seals the exchange may apply: one current Signer per department.
//
// The issuer and the dossier assembler look up the signer of the issuing
// department here. Filled by hand (tests) or from the keys directory for
// the keys the catalog lists as valid now (LoadCurrentSigners).
//
// Thread-safety: Add before sharing; Find is then safe from any thread.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_SIGNER_SET_H_
#define DATARUN_EXCHANGE_CERTIFICATE_SIGNER_SET_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/seal.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::certificate {

class SignerSet {
 public:
  // Replaces any signer of the same department.
  void Add(std::unique_ptr<seal::Signer> signer);
  // nullptr when the department has no signer.
  const seal::Signer* Find(absl::string_view department) const;
  size_t size() const { return signers_.size(); }

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<seal::Signer>> signers_;
};

// For every catalog department, the signer of the key the catalog lists as
// valid at `now` whose private key is in `keys` (the latest valid_from wins
// when several are). Departments without such a key are skipped: an exchange
// holds only the seals it is entrusted with.
absl::StatusOr<SignerSet> LoadCurrentSigners(const v1::Catalog& catalog,
                                             const seal::KeyStore& keys,
                                             absl::Time now);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_SIGNER_SET_H_
