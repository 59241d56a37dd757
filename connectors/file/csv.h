// RFC 4180 CSV record splitting and text checks for the file source.
//
// ParseCsvRecord works on a buffer that may end mid-record (the file source
// reads in chunks): it asks for more input instead of guessing. A broken
// record (quote inside an unquoted field, text after a closing quote,
// unterminated quote at end of file) is consumed up to the end of its line
// and reported, so the rows after it still flow.
//
// Called by connectors/file/file_source and tests. Pure functions; safe from
// any thread.
#ifndef DATARUN_CONNECTORS_FILE_CSV_H_
#define DATARUN_CONNECTORS_FILE_CSV_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace datarun::connectors {

enum class CsvResult {
  kRecord,    // *fields holds the record
  kBroken,    // *error says what is wrong; the record was skipped
  kNeedMore,  // the buffer ends mid-record and !at_eof; nothing consumed
  kEnd,       // at_eof and nothing left
};

// Splits the record at the start of `buffer`. *consumed is the number of
// bytes of the record including its line terminator (also for kBroken).
// Blank lines are consumed and skipped. On kRecord *fields has exactly the
// record's fields; the strings already in it are reused (pass the same
// vector for every record to avoid allocating), so after any other result
// its contents are unspecified.
CsvResult ParseCsvRecord(absl::string_view buffer, bool at_eof,
                         size_t* consumed, std::vector<std::string>* fields,
                         std::string* error);

// The same, writing field i into (*columns)[i].second (names untouched;
// *columns resized to the field count): a source parses straight into the
// columns of a reused Row.
CsvResult ParseCsvRecord(
    absl::string_view buffer, bool at_eof, size_t* consumed,
    std::vector<std::pair<std::string, std::string>>* columns,
    std::string* error);

// True if `text` is valid UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF); otherwise *bad_offset is the offset of the first bad
// byte.
bool IsValidUtf8(absl::string_view text, size_t* bad_offset);

// GBK (CP936) -> UTF-8 with iconv; InvalidArgument names the byte offset
// of the first sequence that is not GBK.
absl::StatusOr<std::string> GbkToUtf8(absl::string_view text);

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_FILE_CSV_H_
