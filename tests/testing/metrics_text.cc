#include "tests/testing/metrics_text.h"

#include "prometheus/text_serializer.h"

namespace datarun::test_support {

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

double SeriesValue(const std::string& text, const std::string& series) {
  const std::string key = series + " ";
  size_t at = text.find("\n" + key);
  if (at == std::string::npos) return -1;
  at += 1 + key.size();
  return std::stod(text.substr(at, text.find('\n', at) - at));
}

}  // namespace datarun::test_support
