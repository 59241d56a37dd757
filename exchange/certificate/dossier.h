// Assembling sealed dossiers (卷宗), e.g. the court filing "defendant's
// household, vehicles, real estate and enterprise roles in 5 minutes".
//
// The resolver (query kind "dossier") calls AssembleDossier after its policy
// step allowed the request under the matter's sharing agreement and masked
// the payloads to the agreed fields; the records come from
// StateStore::Profile of the subject. One section per class, in the order
// asked, each record with its provenance; the dossier is sealed once by the
// department the exchange assembles dossiers as (typically big_data_bureau).
//
// Thread-safety: stateless; the catalog and signer must outlive the call.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_DOSSIER_H_
#define DATARUN_EXCHANGE_CERTIFICATE_DOSSIER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "exchange/catalog/catalog.h"
#include "exchange/seal/seal.h"
#include "proto/datarun/v1/certificate.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::certificate {

struct DossierRequest {
  std::string matter_id;             // must be a catalog matter
  v1::Subject subject;               // the defendant
  std::string requester_department;  // e.g. "courts"
  // Classes to include, in order; empty means the matter's data_classes.
  // Every class must exist in the catalog.
  std::vector<std::string> classes;
};

// Classes of the court-filing dossier: household registration, vehicles,
// real estate, enterprise roles (legal representative, shareholder).
std::vector<std::string> CourtFilingClasses();

// NotFound for an unknown matter or class, InvalidArgument for an empty
// subject or a record about another subject, DataLoss for a payload that
// does not unpack as its class.
absl::StatusOr<v1::Dossier> AssembleDossier(
    const catalog::CatalogIndex& catalog, const DossierRequest& request,
    absl::Span<const v1::Record> records, absl::Time now,
    const seal::Signer& signer);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_DOSSIER_H_
