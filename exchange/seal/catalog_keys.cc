#include "exchange/seal/catalog_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace datarun::seal {
absl::StatusOr<PublicKeyEntry> EntryFromSealKey(absl::string_view department,
                                                const v1::SealKey& key) {
  PublicKeyEntry entry;
  entry.department = std::string(department);
  entry.key_id = key.key_id();
  switch (key.algorithm()) {
    case v1::SEAL_ALGORITHM_SM2_SM3:
      entry.algorithm = SealAlgorithm::kSm2Sm3;
      break;
    case v1::SEAL_ALGORITHM_ED25519:
      entry.algorithm = SealAlgorithm::kEd25519;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("algorithm is ", v1::SealAlgorithm_Name(key.algorithm()),
                       ": expected SEAL_ALGORITHM_SM2_SM3 or "
                       "SEAL_ALGORITHM_ED25519"));
  }
  entry.public_key_pem = key.public_key_pem();
  // An unset valid_from would read as 1970; treat it as "always", like an
  // unset valid_until is "no end".
  entry.valid_from = key.has_valid_from() ? FromProtoTime(key.valid_from())
                                          : absl::InfinitePast();
  entry.valid_until = key.has_valid_until() ? FromProtoTime(key.valid_until())
                                            : absl::InfiniteFuture();
  return entry;
}

absl::Status AddCatalogKeys(const v1::Catalog& catalog, SealKeyring* keyring) {
  for (int i = 0; i < catalog.departments_size(); ++i) {
    const v1::Department& d = catalog.departments(i);
    for (int j = 0; j < d.seal_keys_size(); ++j) {
      const v1::SealKey& k = d.seal_keys(j);
      absl::Status status;
      auto entry = EntryFromSealKey(d.id(), k);
      status = entry.ok() ? keyring->Add(*entry) : entry.status();
      if (!status.ok()) {
        return absl::Status(status.code(),
                            absl::StrCat("catalog departments[", i, "] (",
                                         d.id(), ") seal_keys[", j, "] (",
                                         k.key_id(), "): ", status.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace datarun::seal
