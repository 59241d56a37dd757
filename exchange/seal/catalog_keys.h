// Fills a SealKeyring from the catalog's department seal keys
// (catalog.proto Department.seal_keys), the adapter between the proto and
// the proto-free keyring.
//
// Called once per catalog load by whoever verifies seals (datarun verify,
// the exchange core). Stateless; thread-safety is the keyring's.
#ifndef DATARUN_EXCHANGE_SEAL_CATALOG_KEYS_H_
#define DATARUN_EXCHANGE_SEAL_CATALOG_KEYS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::seal {

// The keyring entry of one catalog key. InvalidArgument for an unspecified
// algorithm.
absl::StatusOr<PublicKeyEntry> EntryFromSealKey(absl::string_view department,
                                                const v1::SealKey& key);

// Adds every seal key of every department. Stops at the first bad key; the
// error names it as `departments[i] (<id>) seal_keys[j] (<key_id>)`.
absl::Status AddCatalogKeys(const v1::Catalog& catalog, SealKeyring* keyring);

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_CATALOG_KEYS_H_
