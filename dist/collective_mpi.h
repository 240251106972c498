// dist: the MPI side of data-parallel training (README "Running on several machines (MPI)",
// docs/design.md §"Collectives"). Implements core::Collective with Open MPI's collectives;
// linked by trpo-train only. Without TRPO_MPI (a build without MPI) start() still answers,
// so the caller needs no #ifdef.
#pragma once

#include <memory>
#include <string>

#include "core/collective.h"

namespace dist {

// whether this build has MPI (the CMake option TRPO_MPI)
bool available();

// the number of processes mpirun started for this job (from its environment), 1 otherwise
int launchedRanks();

// Starts MPI when the process was started by mpirun (or mpiexec) and returns the job's
// collective; returns null without touching MPI when it was not, so a plain run is unchanged.
// Throws std::runtime_error when mpirun started several ranks of a build without MPI.
// MPI ends when the last reference to the collective goes.
std::shared_ptr<core::Collective> start(int& argc, char**& argv);

// ends the whole job at once (another rank may be waiting in an exchange) with this exit code
[[noreturn]] void abortJob(int code);

} // namespace dist
