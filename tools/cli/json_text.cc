#include "tools/cli/json_text.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace datarun::cli {

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00",
                          absl::BytesToHexString(absl::string_view(&c, 1)));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace datarun::cli
