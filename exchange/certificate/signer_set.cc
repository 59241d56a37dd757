#include "exchange/certificate/signer_set.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace datarun::certificate {

void SignerSet::Add(std::unique_ptr<seal::Signer> signer) {
  std::string department = signer->department();
  signers_[department] = std::move(signer);
}

const seal::Signer* SignerSet::Find(absl::string_view department) const {
  auto it = signers_.find(department);
  return it == signers_.end() ? nullptr : it->second.get();
}

absl::StatusOr<SignerSet> LoadCurrentSigners(const v1::Catalog& catalog,
                                             const seal::KeyStore& keys,
                                             absl::Time now) {
  SignerSet set;
  for (const v1::Department& dept : catalog.departments()) {
    const v1::SealKey* best = nullptr;
    for (const v1::SealKey& key : dept.seal_keys()) {
      absl::Time from = absl::FromUnixSeconds(key.valid_from().seconds());
      absl::Time until =
          key.has_valid_until()
              ? absl::FromUnixSeconds(key.valid_until().seconds())
              : absl::InfiniteFuture();
      if (now < from || now >= until) continue;
      if (best == nullptr ||
          key.valid_from().seconds() > best->valid_from().seconds()) {
        best = &key;
      }
    }
    if (best == nullptr) continue;
    auto signer = keys.LoadSigner(dept.id(), best->key_id());
    if (absl::IsNotFound(signer.status())) continue;
    if (!signer.ok()) {
      return absl::Status(
          signer.status().code(),
          absl::StrCat("seal key ", dept.id(), "/", best->key_id(), ": ",
                       signer.status().message()));
    }
    set.Add(*std::move(signer));
  }
  return set;
}

}  // namespace datarun::certificate
