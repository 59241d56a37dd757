#include "connectors/file/csv.h"

#include <errno.h>
#include <iconv.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace datarun::connectors {
namespace {

// Consumes to the end of the current line, for a broken record.
CsvResult SkipLine(absl::string_view buffer, size_t from, bool at_eof,
                   size_t* consumed, std::string* error, std::string message) {
  size_t nl = buffer.find('\n', from);
  if (nl == absl::string_view::npos) {
    if (!at_eof) return CsvResult::kNeedMore;
    *consumed = buffer.size();
  } else {
    *consumed = nl + 1;
  }
  *error = std::move(message);
  return CsvResult::kBroken;
}

}  // namespace

// Both overloads: `Fields` is a vector of strings or of (name, value)
// pairs, `text` gives the string a field is written into.
template <typename Fields, typename Text>
CsvResult ParseInto(absl::string_view buffer, bool at_eof, size_t* consumed,
                    Fields* fields, Text text, std::string* error) {
  // Fields are written into the strings already in *fields (resized at the
  // end), so a caller that passes the same vector for every record
  // allocates nothing once the strings have grown to the data's widths.
  size_t count = 0;
  auto next_field = [&]() -> std::string& {
    if (count == fields->size()) fields->emplace_back();
    std::string& f = text((*fields)[count++]);
    f.clear();
    return f;
  };
  size_t i = 0;
  const size_t n = buffer.size();
  // Blank lines.
  while (i < n && (buffer[i] == '\n' || buffer[i] == '\r')) {
    if (buffer[i] == '\r' && i + 1 == n && !at_eof) return CsvResult::kNeedMore;
    ++i;
  }
  if (i == n) {
    if (!at_eof) return CsvResult::kNeedMore;
    *consumed = n;
    fields->clear();
    return CsvResult::kEnd;
  }
  const size_t start = i;
  while (true) {
    // At the start of a field.
    if (i < n && buffer[i] == '"') {
      std::string& field = next_field();
      ++i;
      while (true) {
        const char* q = static_cast<const char*>(
            i < n ? std::memchr(buffer.data() + i, '"', n - i) : nullptr);
        if (q == nullptr) {
          if (!at_eof) return CsvResult::kNeedMore;
          *consumed = n;
          *error = absl::StrCat("unterminated quoted field ", count,
                                " (opening quote at byte ", start,
                                " of the "
                                "record's chunk runs to end of file)");
          return CsvResult::kBroken;
        }
        size_t qi = q - buffer.data();
        field.append(buffer.data() + i, qi - i);
        if (qi + 1 == n && !at_eof) return CsvResult::kNeedMore;
        if (qi + 1 < n && buffer[qi + 1] == '"') {
          field.push_back('"');
          i = qi + 2;
          continue;
        }
        i = qi + 1;
        break;
      }
      if (i < n && buffer[i] != ',' && buffer[i] != '\n' && buffer[i] != '\r') {
        return SkipLine(
            buffer, i, at_eof, consumed, error,
            absl::StrCat("field ", count, ": text after the closing quote"));
      }
    } else {
      size_t j = i;
      bool quote = false;
      while (j < n) {
        const char c = buffer[j];
        if (c == ',' || c == '\n' || c == '\r') break;
        quote |= c == '"';
        ++j;
      }
      if (j == n && !at_eof) return CsvResult::kNeedMore;
      if (quote) {
        return SkipLine(buffer, i, at_eof, consumed, error,
                        absl::StrCat("field ", count + 1,
                                     ": quote inside an unquoted field"));
      }
      next_field().assign(buffer.data() + i, j - i);
      i = j;
    }
    if (i == n) {  // at_eof: last record without terminator
      *consumed = n;
      fields->resize(count);
      return CsvResult::kRecord;
    }
    if (buffer[i] == ',') {
      ++i;
      continue;
    }
    if (buffer[i] == '\r') {
      if (i + 1 == n && !at_eof) return CsvResult::kNeedMore;
      ++i;
      if (i < n && buffer[i] == '\n') ++i;
    } else {
      ++i;  // '\n'
    }
    *consumed = i;
    fields->resize(count);
    return CsvResult::kRecord;
  }
}

CsvResult ParseCsvRecord(absl::string_view buffer, bool at_eof,
                         size_t* consumed, std::vector<std::string>* fields,
                         std::string* error) {
  return ParseInto(
      buffer, at_eof, consumed, fields,
      [](std::string& f) -> std::string& { return f; }, error);
}

CsvResult ParseCsvRecord(
    absl::string_view buffer, bool at_eof, size_t* consumed,
    std::vector<std::pair<std::string, std::string>>* columns,
    std::string* error) {
  return ParseInto(
      buffer, at_eof, consumed, columns,
      [](std::pair<std::string, std::string>& c) -> std::string& {
        return c.second;
      },
      error);
}

bool IsValidUtf8(absl::string_view text, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, sizeof(word));
      if ((word & 0x8080808080808080ull) != 0) break;
      i += 8;
    }
    if (i == n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      *bad_offset = i;
      return false;
    }
    if (i + len > n) {
      *bad_offset = i;
      return false;
    }
    for (int k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

absl::StatusOr<std::string> GbkToUtf8(absl::string_view text) {
  iconv_t cd = iconv_open("UTF-8", "GBK");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return absl::InternalError("iconv cannot convert GBK to UTF-8");
  }
  std::string out(text.size() * 3 / 2 + 16, '\0');
  char* in = const_cast<char*>(text.data());
  size_t in_left = text.size();
  char* dst = out.data();
  size_t out_left = out.size();
  size_t r = iconv(cd, &in, &in_left, &dst, &out_left);
  int err = errno;
  iconv_close(cd);
  if (r == static_cast<size_t>(-1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid GBK at byte ", text.size() - in_left,
                     err == EINVAL ? " (truncated sequence)" : ""));
  }
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace datarun::connectors
