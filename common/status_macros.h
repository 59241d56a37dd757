// RETURN_IF_ERROR / ASSIGN_OR_RETURN for absl::Status and absl::StatusOr.
//
// Abseil 20220623 ships no status macros; this is the one definition the
// whole project uses. Header-only, no state, safe from any thread.
#ifndef DATARUN_COMMON_STATUS_MACROS_H_
#define DATARUN_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define RETURN_IF_ERROR(expr)                                \
  do {                                                       \
    ::absl::Status datarun_status_ = (expr);                 \
    if (!datarun_status_.ok()) return datarun_status_;       \
  } while (false)

#define DATARUN_STATUS_CONCAT_INNER_(a, b) a##b
#define DATARUN_STATUS_CONCAT_(a, b) DATARUN_STATUS_CONCAT_INNER_(a, b)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs`, which may
// be a declaration (`auto x`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr)                                          \
  DATARUN_ASSIGN_OR_RETURN_IMPL_(                                            \
      DATARUN_STATUS_CONCAT_(datarun_statusor_, __LINE__), lhs, expr)

#define DATARUN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // DATARUN_COMMON_STATUS_MACROS_H_
