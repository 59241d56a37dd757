// Reading Prometheus metrics in tests: the text exposition of a registry
// and the value of one series in it. Used by the unit tests of the metric
// mirrors (exchange/query, exchange/datarund_status).
//
// Thread-safety: free functions over their arguments.
#ifndef DATARUN_TESTS_TESTING_METRICS_TEXT_H_
#define DATARUN_TESTS_TESTING_METRICS_TEXT_H_

#include <string>

#include "prometheus/registry.h"

namespace datarun::test_support {

// The registry's metrics in the text exposition format a scrape returns.
std::string Scrape(prometheus::Registry& registry);

// The value of the series whose exposition line starts with `series` (name
// and labels, exactly as serialized); -1 when absent.
double SeriesValue(const std::string& text, const std::string& series);

}  // namespace datarun::test_support

#endif  // DATARUN_TESTS_TESTING_METRICS_TEXT_H_
