// CPU time used by the calling thread, for the benchmarks' figures (how much of a core the
// studio's UI thread takes, how long the viewer paints), which wall time cannot give on a
// machine whose cores are shared.
#pragma once

#include <ctime>

namespace core {

inline double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

} // namespace core
