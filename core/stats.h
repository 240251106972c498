// IterationStats: every diagnostic one training iteration reports (docs/algorithm.md §8), in one
// value type that feeds progress.csv, the CLI line and the studio's plots alike.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace core {

enum class LineSearchOutcome {
    Accepted,
    KlExceeded,           // every trial broke the KL bound (or the last one did)
    NoImprovement,        // the last trial kept KL but did not improve the surrogate
    NonFinite,            // NaN/inf in the gradient, direction, or a trial
    NonPositiveCurvature, // xᵀ(F + damping·I)x <= 0
    ZeroGradient,         // g = 0, or so small that CG does no iteration: nothing to do
};
const char* outcomeName(LineSearchOutcome o); // snake_case: "accepted", "kl_exceeded", ...
LineSearchOutcome outcomeFromName(const std::string& name); // throws std::runtime_error

// what the divergence guardrail saw in an iteration (docs/algorithm.md §10)
enum class Divergence {
    None,
    NonFiniteEnvironment, // the environment returned NaN or inf: the batch was not learned from
    NonFiniteUpdate,      // NaN or inf in the policy update (gradient, direction or every trial)
    NonFiniteCritic,      // the critic's fit produced NaN or inf
    ReturnCollapse,       // the mean return fell back (collapse_drop)
};
const char* divergenceName(Divergence d);            // "none", "non_finite_environment", ...
Divergence divergenceFromName(const std::string& name); // throws std::runtime_error

struct LineSearchTrial {
    double fraction = 0;            // step fraction (backtrackCoeff^j)
    double kl = 0;                  // mean KL(π_old || π_trial)
    double surrogate = 0;           // surrogate at the trial
    double actualImprovement = 0;   // surrogate - surrogate_before
    double expectedImprovement = 0; // fraction · β gᵀx
    bool accepted = false;
};

struct IterationStats {
    int iteration = 0;            // 1-based
    std::int64_t envSteps = 0;    // total environment steps so far
    double wallSeconds = 0;       // since the run started (accumulated over resumes)
    int episodes = 0;             // episodes finished in this iteration
    std::optional<double> returnMean, returnMin, returnMax, returnStd, lengthMean;
    std::optional<double> recentReturnMean; // mean of the last 20 finished episodes (any iteration)

    double delta = 0;
    double surrogateBefore = 0, surrogateAfter = 0;
    double expectedImprovement = 0, actualImprovement = 0, improvementRatio = 0;
    double klMean = 0, klMax = 0; // of the step taken (0 when rejected)
    // the mean KL of the full step βx (the first trial) and of the last trial tried (the
    // accepted one, or the last rejected one): a rejected iteration is seen by these
    double trialKlFirst = 0, trialKlLast = 0;
    bool accepted = false;
    LineSearchOutcome outcome = LineSearchOutcome::Accepted;
    int backtracks = 0;
    double stepFraction = 0;
    std::vector<LineSearchTrial> trials;

    int cgIterations = 0;
    std::vector<double> cgResiduals; // |r| before the first and after each CG iteration
    double gradNorm = 0, stepNorm = 0, xFx = 0, beta = 0;

    double entropy = 0;           // mean policy entropy (nats)
    std::vector<double> stdPerDim; // Gaussian std per action dimension (empty for discrete)
    double stdMean = 0;

    double valueLossBefore = 0, valueLossAfter = 0;
    double explainedVarianceBefore = 0, explainedVarianceAfter = 0;
    double advantageMean = 0, advantageStd = 0; // before standardisation

    int nonFiniteEnvSteps = 0;                // steps whose observation or reward was NaN or inf
    Divergence divergence = Divergence::None; // what the guardrail saw

    double secondsSampling = 0, secondsAdvantages = 0, secondsGradient = 0, secondsCg = 0,
           secondsLineSearch = 0, secondsValueFit = 0;
    double secondsProbe = 0; // the trust-region probe, when computed during the iteration
    double stepsPerSecond = 0; // this iteration's env steps / its wall time

    // the hot hyperparameters in force during this iteration
    int cgItersSetting = 0;
    double cgDamping = 0;

    // the first-order algorithms (docs/algorithm.md §11); 0 for trpo and npg
    double klBeta = 0;       // KL penalty β in force during the update (kl_penalty, kl_adaptive)
    double clipFraction = 0; // ppo: fraction of samples whose ratio left [1 − ε, 1 + ε], mean over minibatches
    int adamSteps = 0;       // policy Adam steps taken in the update
};

// ---- one table of fields ------------------------------------------------------------
// Every member of IterationStats has one entry here, in progress.csv's column order. The
// table drives progress.csv (header, rows, reading a row back), the run history's JSON
// (history.jsonl: every field, lists included), the plots' series names and the CSV
// export, so a name is written in one place only.
using StatsMember = std::variant<int IterationStats::*, std::int64_t IterationStats::*, double IterationStats::*,
                                 std::optional<double> IterationStats::*, bool IterationStats::*,
                                 LineSearchOutcome IterationStats::*, Divergence IterationStats::*,
                                 std::vector<double> IterationStats::*,
                                 std::vector<LineSearchTrial> IterationStats::*>;
struct StatsField {
    const char* key;       // snake_case JSON key; also the CSV column unless csvColumn says otherwise
    const char* title;     // for people: tooltips, exports, long labels
    const char* legend;    // short, for a plot's legend beside its title ("mean" in "Episode return")
    const char* unit;      // "" when none
    StatsMember member;
    bool timing = false;   // measured time or speed: differs between two identical runs
    // the progress.csv column: the key itself (nullptr below means "same as key"), or ""
    // when the field is a list that only the JSON history holds; cg_residuals' column is
    // cg_residual, the last residual
    const char* csvColumn = nullptr;
    // added after run format 2: older records lack it, and it then keeps its default
    bool optional = false;
    const char* column() const { return csvColumn ? csvColumn : key; }
    bool inCsv() const { return column()[0] != '\0'; }
};
const std::vector<StatsField>& statsFields();
const StatsField* findStatsField(const std::string& key); // by JSON key or CSV column

// a field's value as a number (nullopt: an empty optional, or a list); cg_residuals gives
// its last entry, as its CSV column does
std::optional<double> statsValue(const IterationStats& s, const StatsField& f);

// progress.csv: the header and one row (numbers with 10 significant digits, empty cells
// where no episode finished), and a row read back (throws std::runtime_error naming the
// column; lists come back as far as the CSV holds them: cg_residuals as its last entry)
std::string csvHeader();
std::string csvRow(const IterationStats& s);
IterationStats statsFromCsv(const std::vector<std::string>& header, const std::vector<std::string>& cells);
std::vector<std::string> splitCsvLine(const std::string& line);

// the run history's JSON: every field, exactly (non-finite numbers as "nan", "inf", "-inf").
// statsFromJson also reads the names older studio histories used (xfx, outcome, trials);
// throws std::runtime_error naming the field
nlohmann::json statsToJson(const IterationStats& s, bool withTiming = true);
IterationStats statsFromJson(const nlohmann::json& j);

// the JSON pieces other records share: a number (non-finite as "nan", "inf", "-inf"), a
// line-search trial; the readers throw std::runtime_error or json::exception on bad input
nlohmann::json jsonNumber(double v);
double numberFromJson(const nlohmann::json& j);
nlohmann::json trialToJson(const LineSearchTrial& t);
LineSearchTrial trialFromJson(const nlohmann::json& j);

// one human line for the CLI
std::string progressLine(const IterationStats& s);

} // namespace core
