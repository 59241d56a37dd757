// Unpacking a Record's Any payload into its data class's message type, for
// the certificate issuer and the dossier assembler.
//
// Stateless; thread-safe.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_RECORD_PAYLOAD_H_
#define DATARUN_EXCHANGE_CERTIFICATE_RECORD_PAYLOAD_H_

#include <memory>

#include "absl/status/statusor.h"
#include "exchange/catalog/catalog.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/provenance.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::certificate {

// The payload as a message of the class's payload type. NotFound for an
// unknown class; DataLoss when the Any holds another type or bad bytes.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> UnpackPayload(
    const catalog::CatalogIndex& catalog, const v1::Record& record);

// Provenance of a record: source department, class, key, version, time.
v1::Provenance ProvenanceOf(const v1::Record& record);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_RECORD_PAYLOAD_H_
