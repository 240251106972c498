// A prompt stop (docs/design.md §3): long loops of an iteration (the sampler's steps, CG's
// Fisher-vector products, the line search's trials, the value fit's minibatches) look at a
// cancel flag between shards of work and give up with Interrupted when it is set. Looking
// changes no arithmetic, so a run that is never cancelled is bit for bit the same.
#pragma once

#include <atomic>
#include <exception>

namespace core {

// an iteration was cancelled part way; the trainer has put back the state of the iteration
// boundary before it reaches the caller (Trainer::runPhase)
struct Interrupted : std::exception {
    const char* what() const noexcept override { return "the iteration was interrupted"; }
};

// null: never cancelled
using CancelFlag = const std::atomic<bool>*;

inline bool cancelled(CancelFlag cancel) { return cancel && cancel->load(std::memory_order_relaxed); }

// throws Interrupted when the flag is set; called only on the thread that owns the
// iteration, never inside a worker's task
inline void throwIfCancelled(CancelFlag cancel) {
    if (cancelled(cancel)) throw Interrupted{};
}

} // namespace core
