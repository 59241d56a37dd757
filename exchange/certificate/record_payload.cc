#include "exchange/certificate/record_payload.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace datarun::certificate {

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> UnpackPayload(
    const catalog::CatalogIndex& catalog, const v1::Record& record) {
  const google::protobuf::Descriptor* type =
      catalog.PayloadDescriptor(record.data_class());
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat("record of unknown data class \"",
                                            record.data_class(), "\""));
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  std::unique_ptr<google::protobuf::Message> payload(prototype->New());
  if (!record.payload().UnpackTo(payload.get())) {
    return absl::DataLossError(
        absl::StrCat("record ", record.data_class(), "/", record.record_key(),
                     " of ", record.subject().id(), ": payload of type \"",
                     record.payload().type_url(), "\" does not unpack as ",
                     type->full_name()));
  }
  return payload;
}

v1::Provenance ProvenanceOf(const v1::Record& record) {
  v1::Provenance p;
  p.set_source_department(record.source_department());
  p.set_data_class(record.data_class());
  p.set_record_key(record.record_key());
  p.set_source_version(record.source_version());
  *p.mutable_update_time() = record.event_time();
  return p;
}

}  // namespace datarun::certificate
