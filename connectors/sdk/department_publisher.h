// DepartmentPublisher: the C++ SDK for department systems that publish to
// the bus directly instead of through a file or database connector.
//
//   auto pub = DepartmentPublisher::Create(catalog, "public_security",
//                                          producer.get());
//   VehicleRegistration v = ...;
//   RETURN_IF_ERROR((*pub)->Upsert(id, v.plate_number(), version, v, now));
//
// The payload's message type selects the data class (the department's class
// carrying that type; pass the class id explicitly when the department has
// several with one type). Every call is checked before anything is sent:
// the department must be the class's authoritative source, the subject id
// valid and of the class's kind, the record key present exactly for
// multi-record classes, the version positive. Records go to
// dr.data.<dept>.<class> keyed by subject id with the dr-payload-type and
// dr-catalog-version headers, the same envelope connectors produce. Use an
// idempotent producer (the Kafka adapter's default); delivery is reported
// through the optional callback, Flush waits for all of it.
//
// Thread-safety: thread-safe (immutable after Create; the Producer is
// thread-safe).
#ifndef DATARUN_CONNECTORS_SDK_DEPARTMENT_PUBLISHER_H_
#define DATARUN_CONNECTORS_SDK_DEPARTMENT_PUBLISHER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/catalog/catalog.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::connectors {

class DepartmentPublisher {
 public:
  // `catalog` and `producer` must outlive the publisher.
  static absl::StatusOr<std::unique_ptr<DepartmentPublisher>> Create(
      const catalog::CatalogIndex& catalog, absl::string_view department,
      broker::Producer* producer);

  // Inserts or replaces the record (subject, class of `payload`, key).
  absl::Status Upsert(absl::string_view subject_id,
                      absl::string_view record_key, uint64_t version,
                      const google::protobuf::Message& payload,
                      absl::Time event_time,
                      broker::DeliveryCallback on_delivery = nullptr);
  // The same with the data class named (several classes, one type).
  absl::Status Upsert(absl::string_view data_class,
                      absl::string_view subject_id,
                      absl::string_view record_key, uint64_t version,
                      const google::protobuf::Message& payload,
                      absl::Time event_time,
                      broker::DeliveryCallback on_delivery = nullptr);
  // Deletes the record (a tombstone with `version` at the exchange).
  absl::Status Delete(absl::string_view data_class,
                      absl::string_view subject_id,
                      absl::string_view record_key, uint64_t version,
                      absl::Time event_time,
                      broker::DeliveryCallback on_delivery = nullptr);

  // Waits until every record sent so far was acknowledged or failed.
  absl::Status Flush(absl::Duration timeout);

 private:
  DepartmentPublisher() = default;
  absl::Status Send(const datarun::v1::DataClass& cls,
                    datarun::v1::Record record,
                    broker::DeliveryCallback on_delivery);
  absl::StatusOr<const datarun::v1::DataClass*> ClassOf(
      absl::string_view data_class) const;
  absl::Status Fill(const datarun::v1::DataClass& cls,
                    absl::string_view subject_id, absl::string_view record_key,
                    uint64_t version, absl::Time event_time,
                    datarun::v1::Record* record) const;

  const catalog::CatalogIndex* catalog_ = nullptr;
  std::string department_;
  broker::Producer* producer_ = nullptr;
  // Payload full name -> the department's class, nullptr if ambiguous.
  absl::flat_hash_map<std::string, const datarun::v1::DataClass*> by_type_;
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_SDK_DEPARTMENT_PUBLISHER_H_
