// Deterministic test data for ingest, the crash and two-instance tests and
// the ingest benchmark: a small catalog, valid subject ids, and records.
//
// Test-only. Pure functions; safe from any thread.
#ifndef DATARUN_EXCHANGE_INGEST_TESTING_TEST_DATA_H_
#define DATARUN_EXCHANGE_INGEST_TESTING_TEST_DATA_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::ingest::testing {

// Departments "dept00".."dept<N-1>", each the source of `classes_per_dept`
// classes "dept00_class0"...; class k of a department is multi-record when
// k is odd. Citizens only. Payload type of class c: "test.Payload.<c>".
datarun::v1::Catalog TestCatalog(int departments = 4, int classes_per_dept = 2);

// The n-th of a family of valid GB 11643-1999 resident ids (region 330106,
// birth date 1950-01-01 + n/1000 days, sequence n%1000, correct check
// character).
std::string CitizenId(uint64_t n);

// Checks the GB 11643-1999 check character, the digits and the length;
// the test stand-in for exchange/subject's parser.
absl::Status CheckCitizenId(datarun::v1::SubjectKind kind,
                            absl::string_view id);

// "dr.data.<dept>.<class>".
std::string DataTopic(absl::string_view dept, absl::string_view data_class);

// A record of `data_class` from `dept` about `subject`, with a payload of
// `payload_bytes` deterministic bytes derived from (subject, key, version).
datarun::v1::Record MakeRecord(absl::string_view dept,
                               absl::string_view data_class,
                               absl::string_view subject,
                               absl::string_view record_key, uint64_t version,
                               bool del = false, size_t payload_bytes = 64);

}  // namespace datarun::ingest::testing

#endif  // DATARUN_EXCHANGE_INGEST_TESTING_TEST_DATA_H_
