#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace datarun {
namespace {
std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};
constexpr char kLevelChar[] = {'I', 'W', 'E', 'F'};
}  // namespace

void SetMinLogLevel(LogLevel level) {
  min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogLevelEnabled(LogLevel level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

namespace log_internal {

LogMessage::LogMessage(LogLevel level, const char* file, int line)
    : level_(level) {
  const char* base = std::strrchr(file, '/');
  stream_ << kLevelChar[static_cast<int>(level)]
          << absl::FormatTime("%Y%m%d %H:%M:%E6S", absl::Now(),
                              absl::UTCTimeZone())
          << ' ' << (base ? base + 1 : file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  const std::string line = stream_.str();
  // One write per line keeps concurrent lines whole.
  ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
  if (level_ == LogLevel::kFatal) std::abort();
}

}  // namespace log_internal
}  // namespace datarun
