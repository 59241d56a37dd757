// Evaluating a catalog VerificationPredicate (内部核查) on one subject's
// records: TRUE / FALSE / UNKNOWN plus the provenance of the records the
// answer rests on, never their payload.
//
// Semantics (catalog.proto): conditions are ANDed; all conditions on one
// class must hold on the same record (any record of the class will do);
// NOT_EXISTS on a class holds when no record of it satisfies the class's
// other conditions; an optional parameter the request leaves out drops the
// conditions bound to it. When the subject has no record of any class the
// predicate reads, the answer is the predicate's no_record_result.
// Field paths are dot-separated; a repeated field matches when any element
// does. Literals: enum values by name, bools "true"/"false", numbers,
// dates "YYYY-MM-DD", timestamps RFC 3339, and "now" for the evaluation time
// on Date and Timestamp fields.
//
// Callers: the resolver. Pure functions; safe from any thread.
#ifndef DATARUN_EXCHANGE_RESOLVER_PREDICATE_H_
#define DATARUN_EXCHANGE_RESOLVER_PREDICATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "google/protobuf/map.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/provenance.pb.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::resolver {

struct PredicateOutcome {
  datarun::v1::VerifyResult result = datarun::v1::VERIFY_RESULT_UNKNOWN;
  std::vector<datarun::v1::Provenance> evidence;
};

// `records`: the subject's live records (other classes are ignored).
// InvalidArgument (naming the predicate, condition and field) when a field
// path or literal does not fit the payload type.
absl::StatusOr<PredicateOutcome> EvaluatePredicate(
    const datarun::v1::VerificationPredicate& predicate,
    const google::protobuf::Map<std::string, std::string>& parameters,
    const std::vector<datarun::v1::Record>& records,
    const catalog::CatalogIndex& catalog, absl::Time now);

// Checks every predicate of the catalog against the payload types (field
// paths exist; literals parse), so errors surface at start-up.
absl::Status ValidatePredicates(const catalog::CatalogIndex& catalog);

datarun::v1::Provenance ProvenanceOf(const datarun::v1::Record& record);

}  // namespace datarun::resolver

#endif  // DATARUN_EXCHANGE_RESOLVER_PREDICATE_H_
