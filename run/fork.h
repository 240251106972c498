// Forks (README "Forks"): from one iteration of a run, 2-6 variants that differ in one hot
// setting (or in the algorithm) start from the same TrainerState and train side by side.
//
// The state at an iteration. A run keeps only its latest checkpoint, so the state at an
// earlier iteration is rebuilt by training the run again from its start: the trainer is
// deterministic (same seed and settings, same bits, any thread count), the run's events say
// which hot setting changed before which iteration and which iterations the guardrail rolled
// back, and every re-trained progress row is compared with the run's own (timing columns
// aside), so a run that cannot be reproduced is refused with the first iteration that
// differs instead of being forked from a wrong state. Numbered checkpoints would make --at
// cheaper, but only for runs written after they existed, and they multiply a run's size by
// its length; re-training works for every run either program ever wrote, and at CartPole's
// speed (about 100 iterations a second) it costs less than writing the variants.
//
// The fork manifest (fork.json in the fork's folder) names the parent run, the fork
// iteration, the varied setting and each variant's value and run directory (relative to the
// manifest). Each variant directory is an ordinary run: the parent's rows up to the fork
// iteration, a `forked` event, its checkpoint at the fork iteration with the variant's
// setting applied from the next one, then its own iterations; `trpo-train --resume` and the
// studio open it like any run.
//
// Side by side (RunSet): one owner of the thread budget trains every variant. Each variant's
// trainer runs single-threaded and `threads` workers take turns on the variants, always
// the one that is furthest behind, so N runs share the cores without oversubscription and
// stay within an iteration of each other. No Qt here.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/trainer.h"
#include "run/run_store.h"

namespace run {

constexpr const char* kForkManifestFormat = "trpo-studio-fork";
constexpr int kForkFormatVersion = 1;
constexpr int kMinVariants = 2, kMaxVariants = 6;

// ---- what varies -------------------------------------------------------------------------
struct VarySpec {
    std::string key;                 // a hot setting of core::configFields(), or "algo"
    std::vector<std::string> values; // as given, 2-6, each valid, no two equal
};
// Parses "KEY=V1,V2,..." against the configuration the variants start from. Throws
// core::ConfigError with a message naming the key or value and the problem.
VarySpec parseVary(const std::string& text, const core::TrpoConfig& base);
// Checks the values a fork (--vary) or a sweep (--sweep) gives setting `key`: each, as
// `toConfig` turns it into config text (unchanged when empty), set on `base` must give a valid
// configuration, and no two may mean the same setting (as core::configValue reads them back).
// Messages start with `flag` and name the key and value; `text` is the whole option, quoted
// when a value is empty.
void checkSettingValues(const std::string& flag, const std::string& key, const std::vector<std::string>& values,
                        const std::string& text, const core::TrpoConfig& base,
                        const std::function<std::string(const std::string&)>& toConfig = {});
// whether a fork may vary `key`: every hot setting, and the algorithm (cold otherwise)
bool varyable(const std::string& key);

// ---- the fork manifest -----------------------------------------------------------------
struct ForkVariant {
    std::string value;          // the varied setting's value, as given
    std::filesystem::path dir;  // the variant's run directory (relative in the file)
};
struct ForkManifest {
    int formatVersion = kForkFormatVersion;
    std::filesystem::path parent; // the parent run's directory
    std::string env;
    int forkIteration = 0;        // the variants share iterations 1..forkIteration
    std::string key;
    std::vector<ForkVariant> variants;
};
// fork.json in dir, written atomically
void writeForkManifest(const std::filesystem::path& dir, const ForkManifest& m);
// Reads dir/fork.json (or the file itself); variant directories come back absolute.
// Throws core::FileError whose message starts with the file's path.
ForkManifest readForkManifest(const std::filesystem::path& dirOrFile);
bool looksLikeFork(const std::filesystem::path& dirOrFile);

// ---- the state at an iteration ---------------------------------------------------------
// The configuration a run started with: its config.json with every recorded hot change
// (and a forked run's algorithm change) undone.
core::TrpoConfig startConfig(const RunContents& run);
// The run's TrainerState at the boundary after iteration `at` (0 = before the first): the
// checkpoint when it was taken there, otherwise the run trained again from its start with
// its recorded changes and rollbacks, every row checked against the run's. Throws
// core::ConfigError for an `at` outside 0..(the run's iterations), std::runtime_error
// naming the first iteration whose row differs, core::Interrupted when cancel is set.
// `threads` is the re-training's thread count (results do not depend on it).
core::TrainerState stateAt(const RunContents& run, int at, const core::EnvFactory& factory, int threads,
                           core::CancelFlag cancel = nullptr);

// A variant's trainer: the fork state with `key` = `value` from the next iteration. A hot
// setting is applied as a hot change (a `hyperparameter` event, as --resume would); a new
// algorithm keeps the policy, critic, normalisers, environments and RNG streams, and its
// policy optimiser (Adam moments, KL β) starts fresh. Returns the trainer and the changes.
struct VariantTrainer {
    core::Trainer trainer;
    std::vector<core::ConfigEvent> changes;
};
VariantTrainer makeVariant(const core::TrainerState& forkState, const std::string& key, const std::string& value,
                           const core::EnvFactory& factory, int threads);

// Writes one variant's run directory in dir: the parent's rows and events up to the fork
// iteration, a forked event, the checkpoint of the fork state (with a new algorithm in
// place); then the variant's hot change, recorded as a hyperparameter event. Returns the
// store to go on appending to and the variant's trainer.
struct VariantRun {
    RunStore store;
    VariantTrainer variant;
};
VariantRun createVariantRun(const std::filesystem::path& dir, const RunContents& parent, int at,
                            const core::TrainerState& forkState, const std::string& key, const std::string& value,
                            const core::EnvFactory& factory, int threads, const std::string& writer);

// a directory name for a variant: "delta-0.003", "algo-ppo" (other characters become '_')
std::string variantDirName(const std::string& key, const std::string& value);

class RunSet;
// The whole fork on disk: in outDir (created when absent; no fork.json in it yet), one variant run
// directory per value (createVariantRun) and then fork.json; each variant is added to `set`
// (labelled "KEY=VALUE", single-threaded trainer, its store). trpo-train --fork and the
// studio's Run > Fork both make a fork this way. Returns the manifest written. Throws
// core::FileError naming the directory or file.
ForkManifest createFork(const std::filesystem::path& outDir, const RunContents& parent, int at,
                        const core::TrainerState& forkState, const VarySpec& vary, const core::EnvFactory& factory,
                        const std::string& writer, RunSet& set);
// A fork continued: each variant of the fork in dir (or its fork.json) from its checkpoint
// (RunStore::open, which cuts rows past the checkpoint; a `resumed` event by `writer`), added
// to `set` as createFork adds them (labelled "KEY=VALUE", single-threaded trainer, its store).
// The fork's environment comes from its manifest, through factoryFor. Returns the manifest.
// Throws core::FileError naming the file.
ForkManifest resumeFork(const std::filesystem::path& dir,
                        const std::function<core::EnvFactory(const std::string& env)>& factoryFor,
                        const std::string& writer, RunSet& set);

// ---- the comparison ------------------------------------------------------------------------
// One variant's line of the comparison table (the studio's and trpo-train's), from its rows
// after the fork iteration; the return is the mean of the last 20 finished episodes.
struct VariantSummary {
    std::string label;                   // "delta=0.003"
    int iterations = 0;                  // after the fork
    std::optional<double> finalReturn;   // at its last iteration
    std::optional<double> bestReturn;    // the highest after the fork
    std::optional<std::int64_t> stepsToSolved; // the first row at or above the threshold (fork's rows included)
    std::optional<double> meanKl;        // over the steps taken after the fork (rejections have none)
    int rejections = 0;                  // iterations after the fork whose line search took no step
    double seconds = 0;                  // wall time after the fork
};
VariantSummary summarize(const std::string& label, const std::vector<core::IterationStats>& history, int forkIteration,
                         std::optional<double> solvedReturn);
// the table as text, one line per variant (trpo-train prints it after a fork)
std::string comparisonTable(const std::vector<VariantSummary>& rows, std::optional<double> solvedReturn);

// ---- side by side -----------------------------------------------------------------------
struct Budget {
    std::int64_t steps = std::numeric_limits<std::int64_t>::max(); // total environment steps
    int iterations = -1;              // more iterations (-1: no limit)
    std::optional<double> target;     // stop once the last-20 mean reaches it
    int checkpointEvery = 10;         // 0: only at the end
};

class RunSet {
public:
    struct Member {
        std::string label;            // "delta=0.003"
        core::Trainer trainer;
        std::optional<RunStore> store; // none: train without writing
        int startIteration = 0;
        int rollbacksInARow = 0;
        bool done = false;
        std::string why;              // why it stopped: "budget reached", "interrupted", ...
    };
    // called on a worker thread after each iteration of member m (already stored), one call
    // at a time
    using OnIteration = std::function<void(int m, const core::IterationStats& s, const std::string& note)>;
    // called on a worker thread before each iteration of member m, while that worker holds
    // m (no other thread touches it); it may wait (the studio paces a fork with it) and should
    // return early once the cancel flag is set
    using BeforeIteration = std::function<void(int m)>;

    void add(std::string label, core::Trainer trainer, std::optional<RunStore> store);
    int size() const { return static_cast<int>(m_members.size()); }
    Member& member(int m) { return m_members[static_cast<size_t>(m)]; }

    // Trains every member until its budget, on `threads` threads (the calling one included)
    // that each take the member furthest behind. A set cancel flag stops every member at its
    // last completed iteration (the one in progress is discarded). Each store gets its
    // checkpoint, policy files and a stopped event at the end. A member whose guardrail
    // stops it (max_rollbacks) ends with why = "diverged".
    void train(const Budget& budget, int threads, core::CancelFlag cancel, const OnIteration& onIteration,
               const BeforeIteration& beforeIteration = {});

private:
    std::vector<Member> m_members;
};

} // namespace run
