// Project-wide logging: DR_LOG(INFO|WARNING|ERROR|FATAL) << ...;
//
// Abseil 20220623 has no logging library, so this is the one logging choice
// of the project: glog-style lines on stderr
//   I20261126 07:55:00.123456 file.cc:42] message
// Each statement builds its line locally and writes it with one write(2), so
// lines from different threads never interleave. FATAL aborts after writing.
// The minimum level is set once at startup with SetMinLogLevel (thread-safe).
#ifndef DATARUN_COMMON_LOG_H_
#define DATARUN_COMMON_LOG_H_

#include <sstream>

namespace datarun {

enum class LogLevel { kInfo = 0, kWarning = 1, kError = 2, kFatal = 3 };

// Messages below `level` are dropped. Default: kInfo.
void SetMinLogLevel(LogLevel level);
bool LogLevelEnabled(LogLevel level);

namespace log_internal {

class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Swallows the stream in the disabled branch of DR_LOG.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace log_internal
}  // namespace datarun

#define DATARUN_LOG_LEVEL_INFO ::datarun::LogLevel::kInfo
#define DATARUN_LOG_LEVEL_WARNING ::datarun::LogLevel::kWarning
#define DATARUN_LOG_LEVEL_ERROR ::datarun::LogLevel::kError
#define DATARUN_LOG_LEVEL_FATAL ::datarun::LogLevel::kFatal

#define DR_LOG(severity)                                                \
  !::datarun::LogLevelEnabled(DATARUN_LOG_LEVEL_##severity)             \
      ? (void)0                                                         \
      : ::datarun::log_internal::Voidify() &                            \
            ::datarun::log_internal::LogMessage(                        \
                DATARUN_LOG_LEVEL_##severity, __FILE__, __LINE__)       \
                .stream()

#endif  // DATARUN_COMMON_LOG_H_
