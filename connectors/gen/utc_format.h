// "YYYY-MM-DDTHH:MM:SS" for Unix seconds in UTC without a time zone library
// (days-to-civil arithmetic after H. Hinnant's chrono algorithms): the
// generator prints two or three instants per record, and cctz's general
// conversion showed up in profiles.
//
// Used by proto_json.cc and jsonl_writer.cc. Pure; safe from any thread.
#ifndef DATARUN_CONNECTORS_GEN_UTC_FORMAT_H_
#define DATARUN_CONNECTORS_GEN_UTC_FORMAT_H_

#include <cstdint>
#include <string>

namespace datarun::gen {

// Appends the 19-character form; `seconds` must be within years 0001..9999.
inline void AppendUtcSeconds(int64_t seconds, std::string* out) {
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int64_t rem = seconds - days * 86400;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
  const int hour = static_cast<int>(rem / 3600);
  const int minute = static_cast<int>(rem / 60 % 60);
  const int second = static_cast<int>(rem % 60);
  char buf[19] = {static_cast<char>('0' + year / 1000),
                  static_cast<char>('0' + year / 100 % 10),
                  static_cast<char>('0' + year / 10 % 10),
                  static_cast<char>('0' + year % 10),
                  '-',
                  static_cast<char>('0' + month / 10),
                  static_cast<char>('0' + month % 10),
                  '-',
                  static_cast<char>('0' + day / 10),
                  static_cast<char>('0' + day % 10),
                  'T',
                  static_cast<char>('0' + hour / 10),
                  static_cast<char>('0' + hour % 10),
                  ':',
                  static_cast<char>('0' + minute / 10),
                  static_cast<char>('0' + minute % 10),
                  ':',
                  static_cast<char>('0' + second / 10),
                  static_cast<char>('0' + second % 10)};
  out->append(buf, sizeof(buf));
}

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_UTC_FORMAT_H_
