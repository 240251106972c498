// Sweeps (README "Sweeps"): a grid of settings × seeds trained as independent runs.
//
// The grid is the product of the swept settings' values (the first --sweep outermost) and
// the seeds (innermost); every cell is an ordinary run directory ("delta-0.001_seed-3") that
// starts from the same base configuration with the cell's values and seed, so any setting,
// cold ones included, may be swept. The cells are shared out with cellsForRank(rank, size):
// cell i belongs to rank i mod size, so one process (size 1) runs them all, and under MPI the
// ranks take cells in turn. Within a process `threads` workers each take the next queued cell
// and train it to its end on one thread (a one-member run::RunSet: the same guardrail,
// checkpoints and stopped event as a fork variant), then take the next: a cell that ends
// frees its thread for the next one. Training is deterministic and does not depend on the
// thread count, so a cell is bit for bit the run trpo-train makes alone with its settings.
//
// The sweep manifest (sweep.json) holds the base configuration, the budget, the grid and each
// cell's status: pending, running, done, failed (with its reason) or interrupted. It is
// written atomically when the sweep starts and each time a cell starts or ends, so a sweep
// stopped at any point can be resumed. A cell that throws (an environment error, a file that
// cannot be written) or whose guardrail stops it after max_rollbacks rollbacks in a row is
// failed; the other cells go on. No Qt here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/collective.h"
#include "core/trainer.h"
#include "run/fork.h"

namespace run {

constexpr const char* kSweepManifestFormat = "trpo-studio-sweep";
constexpr int kSweepFormatVersion = 1;
constexpr int kMaxSweepCells = 10000;

// ---- the grid ----------------------------------------------------------------------------
struct SweepAxis {
    std::string key;                 // a setting of core::configFields() other than env, seed, threads
    std::vector<std::string> values; // as given, in order, at least one, no two equal
};
// Parses "KEY=V1,V2,..." (a flag-style key such as cg-iters works too) against the base
// configuration. Throws core::ConfigError whose message starts with "--sweep".
SweepAxis parseSweepAxis(const std::string& text, const core::TrpoConfig& base);
// "1-5", "1,3,7" or both ("1-3,7"): distinct seeds >= 0 in the order given. Throws
// core::ConfigError whose message starts with "--seeds".
std::vector<std::uint64_t> parseSeeds(const std::string& text);

enum class CellStatus { Pending, Running, Done, Failed, Interrupted };
const char* cellStatusName(CellStatus s);

struct SweepCell {
    std::vector<std::string> values; // one per axis
    std::uint64_t seed = 0;
    std::filesystem::path dir;       // relative to the sweep directory
    CellStatus status = CellStatus::Pending;
    std::string reason;              // failed: why; done or interrupted: how training stopped
};
// every cell of the grid, pending: the first axis outermost, the seeds innermost
std::vector<SweepCell> sweepGrid(const std::vector<SweepAxis>& axes, const std::vector<std::uint64_t>& seeds);
// the number of cells of the grid (kMaxSweepCells + 1 for any number above kMaxSweepCells)
size_t sweepCells(const std::vector<SweepAxis>& axes, size_t seeds);
// "delta-0.001_seed-3" (characters other than letters, digits, '.', '-', '_' become '_')
std::string cellDirName(const std::vector<SweepAxis>& axes, const std::vector<std::string>& values,
                        std::uint64_t seed);
// "delta=0.001" or "delta=0.001 gamma=0.99": the setting a cell belongs to, without its seed
std::string settingLabel(const std::vector<SweepAxis>& axes, const std::vector<std::string>& values);

// The cells (indices into the grid, ascending) that process `rank` of `size` runs: round
// robin in the grid's order, cell i to rank i mod size. size 1: every cell.
std::vector<int> cellsForRank(int cells, int rank, int size);

// ---- the manifest ------------------------------------------------------------------------
struct SweepManifest {
    int formatVersion = kSweepFormatVersion;
    core::TrpoConfig base;           // every cell's configuration before its values and seed
    Budget budget;                   // per cell; iterations counted from the cell's start
    int threads = 1;                 // the thread budget of one process
    std::vector<SweepAxis> axes;
    std::vector<std::uint64_t> seeds;
    std::vector<SweepCell> cells;    // sweepGrid(axes, seeds), with their statuses
};
// sweep.json in dir, written atomically
void writeSweepManifest(const std::filesystem::path& dir, const SweepManifest& m);
// Reads dir/sweep.json (or the file itself) and checks it: format, version, a grid that is
// the product of its axes and seeds, valid settings. Throws core::FileError whose message
// starts with the file's path.
SweepManifest readSweepManifest(const std::filesystem::path& dirOrFile);
// the same from the manifest's text; `file` names it in messages
SweepManifest parseSweepManifest(const std::string& text, const std::string& file);
bool looksLikeSweep(const std::filesystem::path& dirOrFile);

// a cell's configuration: the base with the cell's values and seed (threads: 1)
core::TrpoConfig cellConfig(const SweepManifest& m, const SweepCell& c);

// ---- running -------------------------------------------------------------------------------
struct SweepOptions {
    int rank = 0, size = 1;          // cellsForRank (taken from `collective` when it has several ranks)
    core::CancelFlag cancel = nullptr;
    // Several processes (mpirun; core/collective.h): every rank calls runSweep with the same
    // manifest. The ranks work in rounds: each takes its next `threads` cells of cellsForRank
    // and trains them on its threads, and the ranks exchange which cells they take as a round
    // starts and how each ended when it ends (so a round lasts as long as its longest cell).
    // Rank 0 alone writes sweep.json, with every rank's cells; a write that fails ends every
    // rank's runSweep with its message. A stop asked of any rank stops every rank as the next
    // round starts; the cells in progress end as interrupted. On return every rank's manifest
    // holds every cell's status.
    core::Collective* collective = nullptr;
    // the environment factory of a configuration (sim::environmentFactory(cfg.env) in
    // trpo-train; tests pass their own)
    std::function<core::EnvFactory(const core::TrpoConfig&)> factory;
    // after each iteration of cell c (already stored); one call at a time
    std::function<void(int c, const core::IterationStats& s, const std::string& note)> onIteration;
    // when cell c ends (its status and reason are set, the manifest written); one call at a time
    std::function<void(int c)> onCellEnd;
};
// Runs this rank's cells that are not done, on m.threads workers, updating m and dir's
// sweep.json. A pending cell starts from its beginning; a running or interrupted one goes on
// from its checkpoint (as trpo-train --resume does: rows written after it are dropped), or
// starts over when its directory holds no checkpoint; a failed one starts over, its previous
// directory kept as DIR.failed. Stops taking cells once cancel is set; the cells in progress
// end as interrupted. Throws core::FileError only when the manifest cannot be written.
void runSweep(const std::filesystem::path& dir, SweepManifest& m, const SweepOptions& o);

// ---- the summary ---------------------------------------------------------------------------
// One setting over its seeds. Medians and spreads (min–max) are over the done cells; steps to
// the solved threshold over the cells that reached it.
struct Spread {
    double median = 0, min = 0, max = 0;
};
std::optional<Spread> spreadOf(std::vector<double> xs); // none for no values
struct SettingSummary {
    std::string label;               // settingLabel
    std::vector<std::string> values;
    int seeds = 0, done = 0, failed = 0;
    std::optional<Spread> finalReturn;   // the mean of the last 20 episodes at the last iteration
    int reached = 0;                     // done cells whose return reached the solved threshold
    std::optional<Spread> stepsToSolved;
    std::optional<Spread> rejections;    // iterations whose line search took no step
};
// Reads every done cell's run (a cell whose directory cannot be read counts as failed).
std::vector<SettingSummary> summarizeSweep(const std::filesystem::path& dir, const SweepManifest& m,
                                           std::optional<double> solvedReturn);
std::string sweepTable(const std::vector<SettingSummary>& rows, std::optional<double> solvedReturn);
// summary.csv and summary.json in dir, each written atomically
void writeSweepSummary(const std::filesystem::path& dir, const std::vector<SettingSummary>& rows,
                       std::optional<double> solvedReturn);

// The median and min–max of a series over several runs, iteration by iteration: at iteration
// k, over the runs that have a value there (the return is empty before the first episodes).
struct Band {
    std::vector<double> iteration, median, min, max;
};
Band bandOf(const std::vector<std::vector<core::IterationStats>>& histories,
            const std::function<std::optional<double>(const core::IterationStats&)>& value);

} // namespace run
