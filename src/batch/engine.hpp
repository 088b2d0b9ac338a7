// Private: the batch engine with the per-image step injectable, so that the
// pipeline mechanics (order, in-flight cap, error capture, cancellation) can
// be tested without the codecs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "kycprep/batch.hpp"

namespace kycprep::detail {

using prepare_fn = std::function<result<prepared>(std::span<const std::uint8_t>, const prepare_options&)>;

/// run_batch() with `fn` in place of kycprep::prepare.
result<batch_stats> run_batch_with(batch_source& source, batch_sink& sink, const batch_options& opt,
                                   const prepare_fn& fn);

/// The exception being handled (call inside a catch block) as an error value.
error error_from_current_exception(stage where);

}  // namespace kycprep::detail
