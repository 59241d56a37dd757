// The exchange's own check of every consumed data message, before it may
// touch the state. Connectors validate too; the exchange does not trust
// them: a message that fails here goes to dr.dlq.<dept> with the reason.
//
// Called by the Ingestor's polling thread. Pure functions over immutable
// inputs; safe from any thread.
#ifndef DATARUN_EXCHANGE_INGEST_RECORD_CHECK_H_
#define DATARUN_EXCHANGE_INGEST_RECORD_CHECK_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "broker_adapters/broker.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/state/record_envelope.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::ingest {

// Why a message was rejected; one counter each.
enum class RejectReason {
  kUndecodable = 0,   // value is not a Record, or the topic is malformed
  kUnknownClass,      // data class not in the catalog
  kNotAuthoritative,  // publisher is not the class's source department
  kInvalidSubject,    // subject id invalid or of the wrong kind
  kMalformed,         // op, record key, payload type or Kafka key wrong
  kCount,
};
const char* RejectReasonName(RejectReason reason);

// Validates a subject id of the kind the class expects; OK or an error that
// names what is wrong. Production: exchange/subject's parser.
using SubjectValidator = std::function<absl::Status(
    datarun::v1::SubjectKind kind, absl::string_view id)>;

struct Rejection {
  RejectReason reason;
  std::string detail;  // human-readable, names the field
};

// Splits "dr.data.<dept>.<class>"; false if the topic is not of that form.
bool ParseDataTopic(absl::string_view topic, std::string* department,
                    std::string* data_class);
// The same, as views into `topic`.
bool ParseDataTopic(absl::string_view topic, absl::string_view* department,
                    absl::string_view* data_class);

// The department whose DLQ receives a rejected message of `topic`
// ("unknown" if the topic does not name one).
std::string DlqDepartment(absl::string_view topic);

// Decodes the envelope of `message` in place into *envelope (views into
// message.value) and checks it. Returns true when it may be applied;
// otherwise fills *rejection. The ingest path: no Record is built.
bool CheckMessage(const broker::MessageView& message,
                  const ClassDirectory& classes,
                  const SubjectValidator& validate_subject,
                  state::RecordEnvelope* envelope, Rejection* rejection);

// The same checks, and parses `message` into *record.
bool CheckMessage(const broker::Message& message, const ClassDirectory& classes,
                  const SubjectValidator& validate_subject,
                  datarun::v1::Record* record, Rejection* rejection);

}  // namespace datarun::ingest

#endif  // DATARUN_EXCHANGE_INGEST_RECORD_CHECK_H_
