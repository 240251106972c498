#include "core/stats.h"

#include <cstdio>
#include <sstream>

namespace core {

const char* outcomeName(LineSearchOutcome o) {
    switch (o) {
        case LineSearchOutcome::Accepted: return "accepted";
        case LineSearchOutcome::KlExceeded: return "kl_exceeded";
        case LineSearchOutcome::NoImprovement: return "no_improvement";
        case LineSearchOutcome::NonFinite: return "non_finite";
        case LineSearchOutcome::NonPositiveCurvature: return "non_positive_curvature";
        case LineSearchOutcome::ZeroGradient: return "zero_gradient";
    }
    return "unknown";
}

namespace {
std::string num(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}
std::string opt(const std::optional<double>& v) { return v ? num(*v) : std::string(); }
} // namespace

std::string csvHeader() {
    return "iteration,env_steps,wall_seconds,episodes,return_mean,return_min,return_max,return_std,length_mean,"
           "recent_return_mean,delta,kl_mean,kl_max,accepted,line_search_reason,backtracks,step_fraction,"
           "surrogate_before,surrogate_after,expected_improvement,actual_improvement,improvement_ratio,"
           "cg_iterations,cg_residual,grad_norm,step_norm,xFx,beta,entropy,std_mean,value_loss_before,"
           "value_loss_after,explained_variance_before,explained_variance_after,advantage_mean,advantage_std,"
           "seconds_sampling,seconds_advantages,seconds_gradient,seconds_cg,seconds_line_search,"
           "seconds_value_fit,steps_per_second,cg_iters_setting,cg_damping";
}

std::string csvRow(const IterationStats& s) {
    std::ostringstream o;
    o << s.iteration << ',' << s.envSteps << ',' << num(s.wallSeconds) << ',' << s.episodes << ','
      << opt(s.returnMean) << ',' << opt(s.returnMin) << ',' << opt(s.returnMax) << ',' << opt(s.returnStd) << ','
      << opt(s.lengthMean) << ',' << opt(s.recentReturnMean) << ',' << num(s.delta) << ',' << num(s.klMean) << ','
      << num(s.klMax) << ',' << (s.accepted ? 1 : 0) << ',' << outcomeName(s.outcome) << ',' << s.backtracks << ','
      << num(s.stepFraction) << ',' << num(s.surrogateBefore) << ',' << num(s.surrogateAfter) << ','
      << num(s.expectedImprovement) << ',' << num(s.actualImprovement) << ',' << num(s.improvementRatio) << ','
      << s.cgIterations << ',' << num(s.cgResiduals.empty() ? 0.0 : s.cgResiduals.back()) << ','
      << num(s.gradNorm) << ',' << num(s.stepNorm) << ',' << num(s.xFx) << ',' << num(s.beta) << ','
      << num(s.entropy) << ',' << num(s.stdMean) << ',' << num(s.valueLossBefore) << ',' << num(s.valueLossAfter)
      << ',' << num(s.explainedVarianceBefore) << ',' << num(s.explainedVarianceAfter) << ','
      << num(s.advantageMean) << ',' << num(s.advantageStd) << ',' << num(s.secondsSampling) << ','
      << num(s.secondsAdvantages) << ',' << num(s.secondsGradient) << ',' << num(s.secondsCg) << ','
      << num(s.secondsLineSearch) << ',' << num(s.secondsValueFit) << ',' << num(s.stepsPerSecond) << ','
      << s.cgItersSetting << ',' << num(s.cgDamping);
    return o.str();
}

std::string progressLine(const IterationStats& s) {
    char buf[400];
    const std::string ret = s.recentReturnMean ? num(*s.recentReturnMean) : std::string("-");
    std::snprintf(buf, sizeof buf,
                  "iter %4d  steps %8lld  return(last20) %9s  episodes %3d  kl %.5f/%.4g  %s%s  bt %d  "
                  "ev %.3f  %.0f steps/s",
                  s.iteration, static_cast<long long>(s.envSteps), ret.c_str(), s.episodes, s.klMean, s.delta,
                  outcomeName(s.outcome), "", s.backtracks, s.explainedVarianceBefore, s.stepsPerSecond);
    return buf;
}

} // namespace core
