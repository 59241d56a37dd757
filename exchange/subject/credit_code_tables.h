// Registration department and organisation type codes of GB 32100-2015
// (table 1, with amendment No. 1, which added A and N).
//
// Internal to //exchange/subject: used by the credit-code parser and the id
// generator. Constant tables, safe from any thread.
#ifndef DATARUN_EXCHANGE_SUBJECT_CREDIT_CODE_TABLES_H_
#define DATARUN_EXCHANGE_SUBJECT_CREDIT_CODE_TABLES_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace datarun::subject::internal {

// Names are string_views so copying them into a result never runs strlen.
struct OrgType {
  char code;
  absl::string_view name;
  absl::string_view name_zh;
};

struct Department {
  char code;
  absl::string_view name;
  absl::string_view name_zh;
  const OrgType* types;
  int type_count;
  const char* expected_types;  // for error messages
};

// The department of code `c` (position 1), or nullptr.
const Department* FindDepartment(char c);

// The organisation type `c` (position 2) of department `d`, or nullptr.
const OrgType* FindType(const Department& d, char c);

// Every department, in table order.
absl::Span<const Department> Departments();

}  // namespace datarun::subject::internal

#endif  // DATARUN_EXCHANGE_SUBJECT_CREDIT_CODE_TABLES_H_
